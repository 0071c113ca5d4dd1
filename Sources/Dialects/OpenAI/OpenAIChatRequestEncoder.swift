import GatewayCore

/// Writes a `CanonicalRequest` as an OpenAI Chat Completions body (the other direction of
/// `OpenAIChatRequestDecoder`, for OpenAI-compatible providers behind another client dialect).
///
/// Instructions come first as `system` messages; thinking parts in assistant turns have no place
/// in Chat Completions and are dropped; a thinking budget cannot be expressed (only an effort).
public enum OpenAIChatRequestEncoder {
    public static func encode(_ request: CanonicalRequest) -> [UInt8] {
        var json = JSONWriter(capacity: 1024)
        json.object {
            $0.field("model", request.model)
            $0.key("messages")
            $0.array { json in
                for text in request.system {
                    json.object {
                        $0.field("role", "system")
                        $0.field("content", text)
                    }
                }
                for message in request.messages { writeMessage(message, into: &json) }
            }
            if !request.tools.isEmpty { writeTools(request.tools, into: &$0) }
            switch request.toolChoice {
            case .auto: $0.field("tool_choice", "auto")
            case .disabled: $0.field("tool_choice", "none")
            case .required: $0.field("tool_choice", "required")
            case .tool(let name):
                $0.key("tool_choice")
                $0.object {
                    $0.field("type", "function")
                    $0.key("function")
                    $0.object { $0.field("name", name) }
                }
            case nil: break
            }
            if let parallel = request.parallelToolCalls { $0.field("parallel_tool_calls", parallel) }
            writeSampling(request.sampling, into: &$0)
            writeResponseFormat(request.responseFormat, into: &$0)
            if case .effort(let effort) = request.thinking { $0.field("reasoning_effort", effort) }
            if let user = request.user { $0.field("user", user) }
            if !request.metadata.isEmpty {
                $0.key("metadata")
                $0.object { json in
                    for (key, value) in request.metadata.sorted(by: { $0.key < $1.key }) { json.field(key, value) }
                }
            }
            if request.stream {
                $0.field("stream", true)
                if request.includeUsage {
                    $0.key("stream_options")
                    $0.object { $0.field("include_usage", true) }
                }
            }
        }
        return json.bytes
    }

    private static func writeMessage(_ message: CanonicalMessage, into json: inout JSONWriter) {
        if message.role == .tool {
            for case .toolResult(let result) in message.content {
                json.object {
                    $0.field("role", "tool")
                    $0.field("tool_call_id", result.toolCallID)
                    writeContent(result.content, into: &$0)
                }
            }
            return
        }
        let calls = message.content.compactMap { part -> CanonicalToolCall? in
            if case .toolCall(let call) = part { return call }
            return nil
        }
        json.object {
            $0.field("role", message.role == .assistant ? "assistant" : "user")
            writeContent(message.content, into: &$0, nullWhenEmpty: !calls.isEmpty)
            guard !calls.isEmpty else { return }
            $0.key("tool_calls")
            $0.array { json in
                for call in calls {
                    json.object {
                        $0.field("id", call.id)
                        $0.field("type", "function")
                        $0.key("function")
                        $0.object {
                            $0.field("name", call.name)
                            $0.field("arguments", call.arguments)
                        }
                    }
                }
            }
        }
    }

    /// `content` as a string when it is text only, else as an array of text and image parts.
    private static func writeContent(
        _ parts: [CanonicalContentPart],
        into json: inout JSONWriter,
        nullWhenEmpty: Bool = false
    ) {
        let visible = parts.filter {
            switch $0 {
            case .text, .image: true
            default: false
            }
        }
        let texts = visible.compactMap { part -> String? in
            if case .text(let text) = part { return text }
            return nil
        }
        if visible.isEmpty && nullWhenEmpty { return json.field("content", nil as String?) }
        if texts.count == visible.count { return json.field("content", texts.joined()) }
        json.key("content")
        json.array { json in
            for part in visible {
                json.object {
                    switch part {
                    case .text(let text):
                        $0.field("type", "text")
                        $0.field("text", text)
                    case .image(let image):
                        $0.field("type", "image_url")
                        $0.key("image_url")
                        $0.object {
                            switch image.source {
                            case .base64(let mediaType, let data): $0.field("url", "data:\(mediaType);base64,\(data)")
                            case .url(let url): $0.field("url", url)
                            }
                            if let detail = image.detail { $0.field("detail", detail) }
                        }
                    default: break
                    }
                }
            }
        }
    }

    private static func writeTools(_ tools: [CanonicalTool], into json: inout JSONWriter) {
        json.key("tools")
        json.array { json in
            for tool in tools {
                json.object {
                    $0.field("type", "function")
                    $0.key("function")
                    $0.object {
                        $0.field("name", tool.name)
                        if let description = tool.description { $0.field("description", description) }
                        if let parameters = tool.parameters { $0.field("parameters", rawJSON: parameters) }
                        if let strict = tool.strict { $0.field("strict", strict) }
                    }
                }
            }
        }
    }

    private static func writeSampling(_ sampling: CanonicalSampling, into json: inout JSONWriter) {
        if let value = sampling.maxOutputTokens { json.field("max_completion_tokens", value) }
        if let value = sampling.temperature { json.field("temperature", value) }
        if let value = sampling.topP { json.field("top_p", value) }
        if !sampling.stopSequences.isEmpty { json.stringArray("stop", sampling.stopSequences) }
        if let value = sampling.seed { json.field("seed", value) }
        if let value = sampling.presencePenalty { json.field("presence_penalty", value) }
        if let value = sampling.frequencyPenalty { json.field("frequency_penalty", value) }
        if let value = sampling.choiceCount { json.field("n", value) }
    }

    private static func writeResponseFormat(_ format: CanonicalResponseFormat?, into json: inout JSONWriter) {
        guard let format else { return }
        json.key("response_format")
        json.object {
            switch format {
            case .text: $0.field("type", "text")
            case .jsonObject: $0.field("type", "json_object")
            case .jsonSchema(let name, let schema, let strict):
                $0.field("type", "json_schema")
                $0.key("json_schema")
                $0.object {
                    $0.field("name", name)
                    if let schema { $0.field("schema", rawJSON: schema) }
                    if let strict { $0.field("strict", strict) }
                }
            }
        }
    }
}

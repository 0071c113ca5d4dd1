import GatewayCore

/// Writes a `CanonicalRequest` as a Converse body (docs/wire/bedrock.md §2; the model goes in the URL).
///
/// - Instructions → `system[]` text blocks; messages → `messages[]` with roles `user` and
///   `assistant` (tool results go in user turns), consecutive same-role turns merged so roles
///   alternate; a conversation that does not start with a user turn is refused.
/// - Text → `text`; base64 images → `image{format,source.bytes}` (png, jpeg, gif, webp; other
///   types and image URLs are refused: Bedrock takes bytes); tool calls → `toolUse` with the
///   arguments as the `input` object (anything but an object is refused); tool results →
///   `toolResult{toolUseId,content[text|image],status}`; thinking → `reasoningContent.reasoningText`
///   with its signature, redacted thinking → `reasoningContent.redactedContent`, both unchanged.
/// - Tools → `toolConfig.tools[].toolSpec{name,description,inputSchema.json}`; the choice →
///   `toolChoice` `auto`, `any` (required) or `tool{name}`. Converse has no "none": the
///   `toolConfig` is left out, unless the history holds tool calls or results (then Bedrock needs
///   it, and the tools are sent without a choice).
/// - `inferenceConfig{maxTokens,temperature,topP,stopSequences}`; `top_k` and thinking (Anthropic
///   models' `thinking{type:enabled,budget_tokens}`; effort levels low/medium/high as
///   1024/8192/24576 tokens) go in `additionalModelRequestFields`.
/// - Refused: `n` above 1, `response_format` json_object / json_schema (Converse has no JSON mode).
///   Left out: seed, penalties, `parallel_tool_calls`, `user`, `metadata`, tool `strict`, image `detail`.
enum BedrockRequestEncoder {
    private struct Turn {
        var role: String
        var blocks: [[UInt8]] = []
    }

    /// - Parameter autoCacheControl: the provider's `auto_cache_control`: `cachePoint`s after the
    ///   system prompt and the tools even when the client set no breakpoint.
    static func encode(_ request: CanonicalRequest, autoCacheControl: Bool = false) throws(GatewayError) -> [UInt8] {
        if let count = request.sampling.choiceCount, count > 1 {
            throw GatewayError(.badRequest, "n > 1 is not supported by this provider.", param: "n")
        }
        switch request.responseFormat {
        case .jsonObject, .jsonSchema:
            throw GatewayError(
                .badRequest, "response_format json_object and json_schema are not supported by this provider.",
                param: "response_format")
        case .text, nil: break
        }
        let (turns, usesTools) = try turns(request.messages)
        var marks = request.cacheMarks
        if autoCacheControl { marks = CanonicalCacheMarks(system: true, tools: true) }
        var json = JSONWriter(capacity: 1024)
        json.object {
            let system = request.system.filter { !$0.isEmpty }
            if !system.isEmpty {
                $0.key("system")
                $0.array { json in
                    for text in system { json.object { $0.field("text", text) } }
                    if marks.system { writeCachePoint(&json) }
                }
            }
            $0.key("messages")
            $0.array { json in
                for turn in turns {
                    json.object {
                        $0.field("role", turn.role)
                        $0.key("content")
                        $0.array { json in
                            for block in turn.blocks { json.raw(block) }
                        }
                    }
                }
            }
            writeInferenceConfig(request.sampling, into: &$0)
            writeToolConfig(request, historyUsesTools: usesTools, cachePoint: marks.tools, into: &$0)
            writeAdditionalFields(request, into: &$0)
        }
        return json.bytes
    }

    private static func turns(_ messages: [CanonicalMessage]) throws(GatewayError) -> ([Turn], usesTools: Bool) {
        var turns: [Turn] = []
        var usesTools = false
        for message in messages {
            var turn = Turn(role: message.role == .assistant ? "assistant" : "user")
            for part in message.content {
                switch part {
                case .text(let text):
                    guard !text.isEmpty else { continue }
                    turn.blocks.append(block { $0.field("text", text) })
                case .image(let image):
                    turn.blocks.append(try imageBlock(image))
                case .toolCall(let call):
                    usesTools = true
                    turn.blocks.append(try toolUse(call))
                case .toolResult(let result):
                    usesTools = true
                    turn.blocks.append(try toolResult(result))
                case .thinking(let text, let signature):
                    turn.blocks.append(
                        block {
                            $0.key("reasoningContent")
                            $0.object {
                                $0.key("reasoningText")
                                $0.object {
                                    $0.field("text", text)
                                    if let signature { $0.field("signature", signature) }
                                }
                            }
                        })
                case .redactedThinking(let data):
                    turn.blocks.append(
                        block {
                            $0.key("reasoningContent")
                            $0.object { $0.field("redactedContent", data) }
                        })
                }
            }
            guard !turn.blocks.isEmpty else { continue }
            if let last = turns.last, last.role == turn.role {
                turns[turns.count - 1].blocks += turn.blocks
            } else {
                turns.append(turn)
            }
        }
        guard turns.first?.role == "user" else {
            throw GatewayError(
                .badRequest, "This provider needs the conversation to start with a user message.", param: "messages")
        }
        return (turns, usesTools)
    }

    private static func block(_ body: (inout JSONWriter) -> Void) -> [UInt8] {
        var json = JSONWriter(capacity: 128)
        json.object(body)
        return json.bytes
    }

    /// `image/png` → `png`; nil for what Converse does not take.
    static func imageFormat(_ mediaType: String) -> String? {
        switch mediaType.lowercased() {
        case "image/png": "png"
        case "image/jpeg", "image/jpg": "jpeg"
        case "image/gif": "gif"
        case "image/webp": "webp"
        default: nil
        }
    }

    private static func imageBlock(_ image: CanonicalImage) throws(GatewayError) -> [UInt8] {
        guard case .base64(let mediaType, let data) = image.source, let format = imageFormat(mediaType) else {
            throw GatewayError(
                .badRequest,
                "This provider takes images as base64 data URLs of type png, jpeg, gif or webp.", param: "messages")
        }
        return block {
            $0.key("image")
            $0.object {
                $0.field("format", format)
                $0.key("source")
                $0.object { $0.field("bytes", data) }
            }
        }
    }

    private static func toolUse(_ call: CanonicalToolCall) throws(GatewayError) -> [UInt8] {
        let trimmed = DialectJSON.trimmed(call.arguments)
        var input = Array("{}".utf8)
        if !trimmed.isEmpty {
            guard DialectJSON.isObject(trimmed) else {
                throw GatewayError(
                    .badRequest,
                    "The arguments of tool call '\(call.id)' are not a JSON object; this provider needs one.",
                    param: "messages")
            }
            input = Array(trimmed.utf8)
        }
        return block {
            $0.key("toolUse")
            $0.object {
                $0.field("toolUseId", call.id)
                $0.field("name", call.name)
                $0.field("input", rawJSON: input)
            }
        }
    }

    private static func toolResult(_ result: CanonicalToolResult) throws(GatewayError) -> [UInt8] {
        var content: [[UInt8]] = []
        for part in result.content {
            switch part {
            case .text(let text): content.append(block { $0.field("text", text) })
            case .image(let image): content.append(try imageBlock(image))
            default: continue
            }
        }
        if content.isEmpty { content.append(block { $0.field("text", "") }) }
        return block {
            $0.key("toolResult")
            $0.object {
                $0.field("toolUseId", result.toolCallID)
                $0.key("content")
                $0.array { json in
                    for item in content { json.raw(item) }
                }
                $0.field("status", result.isError ? "error" : "success")
            }
        }
    }

    private static func writeInferenceConfig(_ sampling: CanonicalSampling, into json: inout JSONWriter) {
        guard
            sampling.maxOutputTokens != nil || sampling.temperature != nil || sampling.topP != nil
                || !sampling.stopSequences.isEmpty
        else { return }
        json.key("inferenceConfig")
        json.object {
            if let value = sampling.maxOutputTokens { $0.field("maxTokens", value) }
            if let value = sampling.temperature { $0.field("temperature", value as Double?) }
            if let value = sampling.topP { $0.field("topP", value as Double?) }
            if !sampling.stopSequences.isEmpty { $0.stringArray("stopSequences", sampling.stopSequences) }
        }
    }

    /// `{"cachePoint":{"type":"default"}}`: Bedrock caches the prompt up to here.
    private static func writeCachePoint(_ json: inout JSONWriter) {
        json.object { json in
            json.key("cachePoint")
            json.object { $0.field("type", "default") }
        }
    }

    private static func writeToolConfig(
        _ request: CanonicalRequest, historyUsesTools: Bool, cachePoint: Bool, into json: inout JSONWriter
    ) {
        guard !request.tools.isEmpty, request.toolChoice != .disabled || historyUsesTools else { return }
        json.key("toolConfig")
        json.object {
            $0.key("tools")
            $0.array { json in
                for tool in request.tools {
                    json.object {
                        $0.key("toolSpec")
                        $0.object {
                            $0.field("name", tool.name)
                            if let description = tool.description, !description.isEmpty {
                                $0.field("description", description)
                            }
                            $0.key("inputSchema")
                            $0.object {
                                $0.field(
                                    "json",
                                    rawJSON: tool.parameters ?? Array(#"{"type":"object","properties":{}}"#.utf8))
                            }
                        }
                    }
                }
                if cachePoint { writeCachePoint(&json) }
            }
            switch request.toolChoice {
            case .auto:
                $0.key("toolChoice")
                $0.object {
                    $0.key("auto"); $0.object { _ in }
                }
            case .required:
                $0.key("toolChoice")
                $0.object {
                    $0.key("any"); $0.object { _ in }
                }
            case .tool(let name):
                $0.key("toolChoice")
                $0.object {
                    $0.key("tool")
                    $0.object { $0.field("name", name) }
                }
            case .disabled, nil:
                break
            }
        }
    }

    private static func writeAdditionalFields(_ request: CanonicalRequest, into json: inout JSONWriter) {
        let budget: Int? =
            switch request.thinking {
            case .budget(let tokens): tokens
            case .effort("minimal"), .effort("low"): 1024
            case .effort("medium"): 8192
            case .effort("high"): 24576
            default: nil
            }
        guard request.sampling.topK != nil || budget != nil else { return }
        json.key("additionalModelRequestFields")
        json.object {
            if let topK = request.sampling.topK { $0.field("top_k", topK) }
            if let budget {
                $0.key("thinking")
                $0.object {
                    $0.field("type", "enabled")
                    $0.field("budget_tokens", budget)
                }
            }
        }
    }
}

import GatewayCore

/// Reads an OpenAI Chat Completions request body into a `CanonicalRequest`.
///
/// `system` and `developer` messages, wherever they stand, become instructions (in order).
/// Refused with a 400 rather than dropped: content parts other than `text`, `refusal` and
/// `image_url` (audio, files), the legacy `function` role, non-`function` tools. Ignored: `name` on
/// messages, `logprobs`, `logit_bias`, `store`, `service_tier`, `prediction`, `modalities`, `audio`.
public enum OpenAIChatRequestDecoder {
    public static func decode(_ body: [UInt8]) throws(GatewayError) -> CanonicalRequest {
        guard let root = JSONScanner.parseObject(body) else {
            throw GatewayError(.badRequest, "The request body is not a JSON object.")
        }
        guard let model = root["model"]?.string, !model.isEmpty else {
            throw GatewayError(.badRequest, "The request has no model.", param: "model")
        }
        guard let messages = root["messages"]?.array else {
            throw GatewayError(.badRequest, "The request has no messages array.", param: "messages")
        }
        var request = CanonicalRequest(model: model)
        for (index, value) in messages.enumerated() {
            guard let message = value.object else {
                throw GatewayError(.badRequest, "messages[\(index)] is not an object.", param: "messages")
            }
            try decodeMessage(message, index: index, into: &request)
        }
        request.tools = try decodeTools(root["tools"])
        request.toolChoice = try decodeToolChoice(root["tool_choice"])
        request.parallelToolCalls = root["parallel_tool_calls"]?.bool
        request.sampling = decodeSampling(root)
        request.responseFormat = decodeResponseFormat(root["response_format"])
        request.stream = root["stream"]?.bool ?? false
        request.includeUsage = request.stream && root["stream_options"]?["include_usage"]?.bool == true
        request.thinking = decodeThinking(root)
        request.user = root["user"]?.string
        if let metadata = root["metadata"]?.object {
            for member in metadata.members {
                if let value = metadata[member.key]?.string { request.metadata[member.key] = value }
            }
        }
        return request
    }

    private static func decodeMessage(
        _ message: JSONObject,
        index: Int,
        into request: inout CanonicalRequest
    ) throws(GatewayError) {
        let role = message["role"]?.string ?? ""
        switch role {
        case "system", "developer":
            let parts = try decodeContent(message["content"], index: index)
            let text = parts.compactMap { part -> String? in
                if case .text(let text) = part { return text }
                return nil
            }
            request.system.append(text.joined(separator: "\n"))
        case "user":
            request.messages.append(
                CanonicalMessage(role: .user, content: try decodeContent(message["content"], index: index)))
        case "assistant":
            var parts = try decodeContent(message["content"], index: index)
            for call in message["tool_calls"]?.array ?? [] {
                guard let function = call["function"]?.object, let name = function["name"]?.string else {
                    throw GatewayError(
                        .badRequest, "messages[\(index)].tool_calls has a malformed call.", param: "messages")
                }
                let arguments = function["arguments"]?.string ?? ""
                parts.append(
                    .toolCall(CanonicalToolCall(id: call["id"]?.string ?? "", name: name, arguments: arguments)))
            }
            request.messages.append(CanonicalMessage(role: .assistant, content: parts))
        case "tool":
            guard let id = message["tool_call_id"]?.string else {
                throw GatewayError(.badRequest, "messages[\(index)] has no tool_call_id.", param: "messages")
            }
            let result = CanonicalToolResult(
                toolCallID: id, content: try decodeContent(message["content"], index: index))
            request.messages.append(CanonicalMessage(role: .tool, content: [.toolResult(result)]))
        default:
            throw GatewayError(.badRequest, "messages[\(index)] has an unsupported role '\(role)'.", param: "messages")
        }
    }

    /// A string, null, or an array of parts.
    private static func decodeContent(_ content: JSONValue?, index: Int) throws(GatewayError)
        -> [CanonicalContentPart]
    {
        if let text = content?.string { return [.text(text)] }
        guard let array = content?.array else { return [] }
        var parts: [CanonicalContentPart] = []
        for part in array {
            switch part["type"]?.string {
            case "text": parts.append(.text(part["text"]?.string ?? ""))
            case "refusal": parts.append(.text(part["refusal"]?.string ?? ""))
            case "image_url":
                let image = part["image_url"]
                let url = image?["url"]?.string ?? image?.string ?? ""
                let detail = image?["detail"]?.string
                parts.append(.image(CanonicalImage(source: imageSource(url), detail: detail)))
            case let type:
                throw GatewayError(
                    .badRequest,
                    "messages[\(index)] has a content part of type '\(type ?? "none")' that cannot be translated.",
                    param: "messages"
                )
            }
        }
        return parts
    }

    /// `data:<media type>;base64,<data>` becomes inline bytes; anything else stays a URL.
    static func imageSource(_ url: String) -> CanonicalImage.Source {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else { return .url(url) }
        let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
        guard header.hasSuffix(";base64") else { return .url(url) }
        let mediaType = String(header.dropLast(7))
        return .base64(mediaType: mediaType, data: String(url[url.index(after: comma)...]))
    }

    private static func decodeTools(_ value: JSONValue?) throws(GatewayError) -> [CanonicalTool] {
        var tools: [CanonicalTool] = []
        for tool in value?.array ?? [] {
            guard let tool = tool.object, (tool["type"]?.string ?? "function") == "function",
                let function = tool["function"]?.object, let name = function["name"]?.string
            else {
                throw GatewayError(.badRequest, "Only function tools can be translated.", param: "tools")
            }
            tools.append(
                CanonicalTool(
                    name: name,
                    description: function["description"]?.string,
                    parameters: function["parameters"]?.bytes,
                    strict: function["strict"]?.bool
                )
            )
        }
        return tools
    }

    private static func decodeToolChoice(_ value: JSONValue?) throws(GatewayError) -> CanonicalToolChoice? {
        switch value {
        case nil, .null: return nil
        case .string(let text):
            switch text {
            case "auto": return .auto
            case "none": return .disabled
            case "required": return .required
            default: throw GatewayError(.badRequest, "Unknown tool_choice '\(text)'.", param: "tool_choice")
            }
        case .object(let object):
            guard let name = object["function"]?["name"]?.string else {
                throw GatewayError(.badRequest, "tool_choice names no function.", param: "tool_choice")
            }
            return .tool(name: name)
        default:
            throw GatewayError(.badRequest, "tool_choice is malformed.", param: "tool_choice")
        }
    }

    private static func decodeSampling(_ root: JSONObject) -> CanonicalSampling {
        var stops: [String] = []
        if let stop = root["stop"]?.string {
            stops = [stop]
        } else if let stop = root["stop"]?.array {
            stops = stop.compactMap(\.string)
        }
        return CanonicalSampling(
            temperature: root["temperature"]?.double,
            topP: root["top_p"]?.double,
            topK: root["top_k"]?.int,
            stopSequences: stops,
            maxOutputTokens: root["max_completion_tokens"]?.int ?? root["max_tokens"]?.int,
            seed: root["seed"]?.int,
            presencePenalty: root["presence_penalty"]?.double,
            frequencyPenalty: root["frequency_penalty"]?.double,
            choiceCount: root["n"]?.int
        )
    }

    private static func decodeResponseFormat(_ value: JSONValue?) -> CanonicalResponseFormat? {
        guard let format = value?.object else { return nil }
        switch format["type"]?.string {
        case "json_object": return .jsonObject
        case "json_schema":
            let schema = format["json_schema"]?.object ?? JSONObject()
            return .jsonSchema(
                name: schema["name"]?.string ?? "response",
                schema: schema["schema"]?.bytes,
                strict: schema["strict"]?.bool
            )
        default: return .text
        }
    }

    /// `reasoning_effort`, or the `thinking` object some clients send in Anthropic's shape.
    private static func decodeThinking(_ root: JSONObject) -> CanonicalThinking? {
        if let thinking = root["thinking"]?.object {
            if thinking["type"]?.string == "disabled" { return .disabled }
            if let budget = thinking["budget_tokens"]?.int { return .budget(budget) }
        }
        if let effort = root["reasoning_effort"]?.string {
            return effort == "none" ? .disabled : .effort(effort)
        }
        return nil
    }
}

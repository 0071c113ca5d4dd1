import Foundation
import GatewayCore

/// Reads an OpenAI Chat Completions request body into a `CanonicalRequest`.
///
/// `system` and `developer` messages, wherever they stand, become instructions (in order).
/// Refused with a 400 rather than dropped: content parts other than `text`, `refusal` and
/// `image_url` (audio, files), the legacy `function` role, non-`function` tools. Ignored: `name` on
/// messages, `logprobs`, `logit_bias`, `store`, `service_tier`, `prediction`, `modalities`, `audio`.
public enum OpenAIChatRequestDecoder {
    public static func decode(_ body: [UInt8]) throws(GatewayError) -> CanonicalRequest {
        guard let root = DialectJSON.object(body) else {
            throw GatewayError(.badRequest, "The request body is not a JSON object.")
        }
        guard let model = root["model"] as? String, !model.isEmpty else {
            throw GatewayError(.badRequest, "The request has no model.", param: "model")
        }
        guard let messages = root["messages"] as? [Any] else {
            throw GatewayError(.badRequest, "The request has no messages array.", param: "messages")
        }
        var request = CanonicalRequest(model: model)
        for (index, value) in messages.enumerated() {
            guard let message = value as? [String: Any] else {
                throw GatewayError(.badRequest, "messages[\(index)] is not an object.", param: "messages")
            }
            try decodeMessage(message, index: index, into: &request)
        }
        request.tools = try decodeTools(root["tools"])
        request.toolChoice = try decodeToolChoice(root["tool_choice"])
        request.parallelToolCalls = DialectJSON.bool(root["parallel_tool_calls"])
        request.sampling = decodeSampling(root)
        request.responseFormat = decodeResponseFormat(root["response_format"])
        request.stream = DialectJSON.bool(root["stream"]) ?? false
        let streamOptions = root["stream_options"] as? [String: Any]
        request.includeUsage = request.stream && DialectJSON.bool(streamOptions?["include_usage"]) == true
        request.thinking = decodeThinking(root)
        request.user = root["user"] as? String
        if let metadata = root["metadata"] as? [String: Any] {
            request.metadata = metadata.compactMapValues { $0 as? String }
        }
        return request
    }

    private static func decodeMessage(
        _ message: [String: Any],
        index: Int,
        into request: inout CanonicalRequest
    ) throws(GatewayError) {
        let role = message["role"] as? String ?? ""
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
            for call in message["tool_calls"] as? [Any] ?? [] {
                guard let call = call as? [String: Any], let function = call["function"] as? [String: Any],
                    let name = function["name"] as? String
                else {
                    throw GatewayError(
                        .badRequest, "messages[\(index)].tool_calls has a malformed call.", param: "messages")
                }
                let arguments = function["arguments"] as? String ?? ""
                parts.append(
                    .toolCall(CanonicalToolCall(id: call["id"] as? String ?? "", name: name, arguments: arguments)))
            }
            request.messages.append(CanonicalMessage(role: .assistant, content: parts))
        case "tool":
            guard let id = message["tool_call_id"] as? String else {
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
    private static func decodeContent(_ content: Any?, index: Int) throws(GatewayError) -> [CanonicalContentPart] {
        if let text = content as? String { return [.text(text)] }
        guard let array = content as? [Any] else { return [] }
        var parts: [CanonicalContentPart] = []
        for value in array {
            let part = value as? [String: Any] ?? [:]
            switch part["type"] as? String {
            case "text": parts.append(.text(part["text"] as? String ?? ""))
            case "refusal": parts.append(.text(part["refusal"] as? String ?? ""))
            case "image_url":
                let image = part["image_url"]
                let url = (image as? [String: Any])?["url"] as? String ?? image as? String ?? ""
                let detail = (image as? [String: Any])?["detail"] as? String
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

    private static func decodeTools(_ value: Any?) throws(GatewayError) -> [CanonicalTool] {
        var tools: [CanonicalTool] = []
        for tool in value as? [Any] ?? [] {
            guard let tool = tool as? [String: Any], tool["type"] as? String ?? "function" == "function",
                let function = tool["function"] as? [String: Any], let name = function["name"] as? String
            else {
                throw GatewayError(.badRequest, "Only function tools can be translated.", param: "tools")
            }
            tools.append(
                CanonicalTool(
                    name: name,
                    description: function["description"] as? String,
                    parameters: function["parameters"].map(DialectJSON.bytes),
                    strict: DialectJSON.bool(function["strict"])
                )
            )
        }
        return tools
    }

    private static func decodeToolChoice(_ value: Any?) throws(GatewayError) -> CanonicalToolChoice? {
        switch value {
        case nil, is NSNull: return nil
        case let text as String:
            switch text {
            case "auto": return .auto
            case "none": return .disabled
            case "required": return .required
            default: throw GatewayError(.badRequest, "Unknown tool_choice '\(text)'.", param: "tool_choice")
            }
        case let object as [String: Any]:
            guard let name = (object["function"] as? [String: Any])?["name"] as? String else {
                throw GatewayError(.badRequest, "tool_choice names no function.", param: "tool_choice")
            }
            return .tool(name: name)
        default:
            throw GatewayError(.badRequest, "tool_choice is malformed.", param: "tool_choice")
        }
    }

    private static func decodeSampling(_ root: [String: Any]) -> CanonicalSampling {
        var stops: [String] = []
        if let stop = root["stop"] as? String {
            stops = [stop]
        } else if let stop = root["stop"] as? [Any] {
            stops = stop.compactMap { $0 as? String }
        }
        return CanonicalSampling(
            temperature: DialectJSON.double(root["temperature"]),
            topP: DialectJSON.double(root["top_p"]),
            topK: DialectJSON.int(root["top_k"]),
            stopSequences: stops,
            maxOutputTokens: DialectJSON.int(root["max_completion_tokens"]) ?? DialectJSON.int(root["max_tokens"]),
            seed: DialectJSON.int(root["seed"]),
            presencePenalty: DialectJSON.double(root["presence_penalty"]),
            frequencyPenalty: DialectJSON.double(root["frequency_penalty"]),
            choiceCount: DialectJSON.int(root["n"])
        )
    }

    private static func decodeResponseFormat(_ value: Any?) -> CanonicalResponseFormat? {
        guard let format = value as? [String: Any] else { return nil }
        switch format["type"] as? String {
        case "json_object": return .jsonObject
        case "json_schema":
            let schema = format["json_schema"] as? [String: Any] ?? [:]
            return .jsonSchema(
                name: schema["name"] as? String ?? "response",
                schema: schema["schema"].map(DialectJSON.bytes),
                strict: DialectJSON.bool(schema["strict"])
            )
        default: return .text
        }
    }

    /// `reasoning_effort`, or the `thinking` object some clients send in Anthropic's shape.
    private static func decodeThinking(_ root: [String: Any]) -> CanonicalThinking? {
        if let thinking = root["thinking"] as? [String: Any] {
            if thinking["type"] as? String == "disabled" { return .disabled }
            if let budget = DialectJSON.int(thinking["budget_tokens"]) { return .budget(budget) }
        }
        if let effort = root["reasoning_effort"] as? String {
            return effort == "none" ? .disabled : .effort(effort)
        }
        return nil
    }
}

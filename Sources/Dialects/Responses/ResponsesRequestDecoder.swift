import GatewayCore

/// Reads an OpenAI Responses request (`POST /v1/responses`) into a `CanonicalRequest`, for targets
/// that do not speak Responses (docs/dialects.md, "Responses front").
///
/// `history` holds the items of the stored chain `previous_response_id` names (earlier inputs and
/// outputs, in order); they come before the request's own `input`. `instructions` and `system` /
/// `developer` items become instructions. Consecutive assistant-side items (assistant messages,
/// `reasoning`, `function_call`) make one assistant turn; each `function_call_output` is a tool
/// result. Refused with a 400 naming the field rather than dropped: built-in tools and tool
/// choices (web search, file search, code interpreter, …), `input_file` parts, file ids,
/// `item_reference` and built-in tool items, `background: true`, `conversation`, `prompt`.
/// Not applied (echoed in the answer): `truncation`, `include`, `top_logprobs`, `text.verbosity`,
/// `reasoning.summary`, `service_tier`, `prompt_cache_key`, `max_tool_calls`.
public enum ResponsesRequestDecoder {
    /// The prefix of `encrypted_content` on a reasoning item that carries a provider's redacted
    /// (encrypted) reasoning rather than a signature of visible reasoning.
    public static let redactedReasoningPrefix = "llmgw-redacted:"

    public static func decode(_ body: [UInt8], history: [JSONValue] = []) throws(GatewayError) -> CanonicalRequest {
        guard let root = JSONScanner.parseObject(body) else {
            throw GatewayError(.badRequest, "The request body is not a JSON object.")
        }
        guard let model = root["model"]?.string, !model.isEmpty else {
            throw GatewayError(.badRequest, "The request has no model.", param: "model")
        }
        try refuseUntranslatable(root)
        var request = CanonicalRequest(model: model)
        if let instructions = root["instructions"]?.string, !instructions.isEmpty {
            request.system.append(instructions)
        }
        var builder = TurnBuilder()
        for item in history {
            try builder.add(item, param: "previous_response_id", into: &request)
        }
        let input = try inputItems(root["input"])
        for (index, item) in input.enumerated() {
            try builder.add(item, param: "input[\(index)]", into: &request)
        }
        builder.flush(into: &request)
        guard !request.messages.isEmpty else {
            throw GatewayError(.badRequest, "'input' must hold at least one message.", param: "input")
        }
        let (tools, choice) = try decodeTools(root)
        request.tools = tools
        request.toolChoice = choice
        request.parallelToolCalls = root["parallel_tool_calls"]?.bool
        request.sampling = CanonicalSampling(
            temperature: root["temperature"]?.double,
            topP: root["top_p"]?.double,
            maxOutputTokens: root["max_output_tokens"]?.int
        )
        request.responseFormat = try decodeFormat(root["text"]?["format"])
        request.stream = root["stream"]?.bool ?? false
        // A Responses stream always ends with the usage (`response.completed`).
        request.includeUsage = request.stream
        if let effort = root["reasoning"]?["effort"]?.string {
            request.thinking = effort == "none" ? .disabled : .effort(effort)
        }
        request.user = root["safety_identifier"]?.string ?? root["user"]?.string
        if let metadata = root["metadata"]?.object {
            for member in metadata.members {
                if let value = member.value.string { request.metadata[member.key] = value }
            }
        }
        return request
    }

    /// The request's own `input` as items: a string is one user message.
    public static func inputItems(_ input: JSONValue?) throws(GatewayError) -> [JSONValue] {
        switch input {
        case .string(let text):
            return [
                .object(
                    JSONObject([
                        .init(key: "role", value: .string("user")), .init(key: "content", value: .string(text)),
                    ]))
            ]
        case .array(let items):
            return items
        case nil, .null:
            return []
        default:
            throw GatewayError(.badRequest, "'input' must be a string or an array of items.", param: "input")
        }
    }

    private static func refuseUntranslatable(_ root: JSONObject) throws(GatewayError) {
        if root["background"]?.bool == true {
            throw GatewayError(
                .badRequest, "Background responses are not available for this model (its provider is translated).",
                param: "background")
        }
        if let conversation = root["conversation"], !conversation.isNull {
            throw GatewayError(
                .badRequest,
                "Conversations are not available through llmgw; chain responses with previous_response_id.",
                param: "conversation")
        }
        if let prompt = root["prompt"], !prompt.isNull {
            throw GatewayError(
                .badRequest, "Stored prompt templates are not available for this model (its provider is translated).",
                param: "prompt")
        }
    }

    /// Accumulates items into canonical turns: assistant-side items join one assistant message.
    private struct TurnBuilder {
        var assistant: [CanonicalContentPart]? = nil

        mutating func add(
            _ value: JSONValue, param: String, into request: inout CanonicalRequest
        ) throws(GatewayError) {
            guard let item = value.object else {
                throw GatewayError(.badRequest, "\(param) is not an object.", param: param)
            }
            let type = item["type"]?.string ?? (item["role"] != nil ? "message" : "")
            switch type {
            case "message":
                try addMessage(item, param: param, into: &request)
            case "function_call":
                guard let callID = item["call_id"]?.string, let name = item["name"]?.string else {
                    throw GatewayError(
                        .badRequest, "\(param) (function_call) needs call_id and name.", param: param)
                }
                let arguments = item["arguments"]?.string ?? ""
                assistant =
                    (assistant ?? []) + [.toolCall(CanonicalToolCall(id: callID, name: name, arguments: arguments))]
            case "function_call_output":
                guard let callID = item["call_id"]?.string else {
                    throw GatewayError(.badRequest, "\(param) (function_call_output) needs call_id.", param: param)
                }
                let content = try toolOutput(item["output"], param: param + ".output")
                flush(into: &request)
                request.messages.append(
                    CanonicalMessage(
                        role: .tool, content: [.toolResult(CanonicalToolResult(toolCallID: callID, content: content))]))
            case "reasoning":
                assistant = (assistant ?? []) + reasoning(item)
            default:
                throw GatewayError(
                    .badRequest,
                    "\(param) is an item of type '\(type.isEmpty ? "none" : type)', which cannot be translated for this "
                        + "model's provider.",
                    param: param)
            }
        }

        private mutating func addMessage(
            _ item: JSONObject, param: String, into request: inout CanonicalRequest
        ) throws(GatewayError) {
            let role = item["role"]?.string ?? ""
            let parts = try content(item["content"], param: param + ".content")
            switch role {
            case "system", "developer":
                let text = parts.compactMap { part -> String? in
                    if case .text(let text) = part { return text }
                    return nil
                }
                request.system.append(text.joined(separator: "\n"))
            case "user":
                flush(into: &request)
                request.messages.append(CanonicalMessage(role: .user, content: parts))
            case "assistant":
                assistant = (assistant ?? []) + parts
            default:
                throw GatewayError(
                    .badRequest, "\(param) has an unsupported role '\(role)'.", param: param + ".role")
            }
        }

        mutating func flush(into request: inout CanonicalRequest) {
            guard let parts = assistant else { return }
            assistant = nil
            request.messages.append(CanonicalMessage(role: .assistant, content: parts))
        }

        /// Reasoning as thinking: its summary texts, the signature (or redacted data) from
        /// `encrypted_content`.
        private func reasoning(_ item: JSONObject) -> [CanonicalContentPart] {
            let encrypted = item["encrypted_content"]?.string
            if let encrypted, encrypted.hasPrefix(ResponsesRequestDecoder.redactedReasoningPrefix) {
                return [.redactedThinking(data: String(encrypted.dropFirst(redactedReasoningPrefix.count)))]
            }
            let summary = (item["summary"]?.array ?? []).compactMap { $0["text"]?.string }.joined(separator: "\n\n")
            guard !summary.isEmpty || encrypted != nil else { return [] }
            return [.thinking(text: summary, signature: encrypted)]
        }

        /// A string, or parts: `input_text`, `output_text`, `refusal`, `input_image`.
        private func content(_ value: JSONValue?, param: String) throws(GatewayError) -> [CanonicalContentPart] {
            if let text = value?.string { return [.text(text)] }
            guard let array = value?.array else { return [] }
            var parts: [CanonicalContentPart] = []
            for (index, part) in array.enumerated() {
                parts.append(try contentPart(part, param: "\(param)[\(index)]"))
            }
            return parts
        }

        private func contentPart(_ part: JSONValue, param: String) throws(GatewayError) -> CanonicalContentPart {
            switch part["type"]?.string {
            case "input_text", "output_text", "text":
                return .text(part["text"]?.string ?? "")
            case "refusal":
                return .text(part["refusal"]?.string ?? "")
            case "input_image":
                guard let url = part["image_url"]?.string, !url.isEmpty else {
                    throw GatewayError(
                        .badRequest,
                        "\(param): an input_image needs image_url (an https or data: URL); file ids cannot be "
                            + "translated for this model's provider.",
                        param: param)
                }
                return .image(
                    CanonicalImage(source: OpenAIChatRequestDecoder.imageSource(url), detail: part["detail"]?.string))
            case let type:
                throw GatewayError(
                    .badRequest,
                    "\(param) is a content part of type '\(type ?? "none")', which cannot be translated for this "
                        + "model's provider.",
                    param: param)
            }
        }

        /// A `function_call_output`'s `output`: a string, or text and image parts.
        private func toolOutput(_ value: JSONValue?, param: String) throws(GatewayError) -> [CanonicalContentPart] {
            switch value {
            case .string(let text): return [.text(text)]
            case .array: return try content(value, param: param)
            default: throw GatewayError(.badRequest, "\(param) must be a string or an array of parts.", param: param)
            }
        }
    }

    /// Function tools (the flat Responses shape) and `tool_choice`. `allowed_tools` narrows the
    /// tools sent to the ones it lists.
    private static func decodeTools(_ root: JSONObject) throws(GatewayError) -> ([CanonicalTool], CanonicalToolChoice?)
    {
        var tools: [CanonicalTool] = []
        for (index, value) in (root["tools"]?.array ?? []).enumerated() {
            let type = value["type"]?.string ?? "none"
            guard type == "function", let tool = value.object else {
                throw GatewayError(
                    .badRequest,
                    "Built-in tool '\(type)' is not available for this model (its provider is translated); only "
                        + "function tools are.",
                    param: "tools[\(index)].type")
            }
            guard let name = tool["name"]?.string, !name.isEmpty else {
                throw GatewayError(.badRequest, "tools[\(index)] has no name.", param: "tools[\(index)].name")
            }
            let parameters = tool["parameters"].flatMap { $0.isNull ? nil : $0.bytes }
            tools.append(
                CanonicalTool(
                    name: name, description: tool["description"]?.string, parameters: parameters,
                    strict: tool["strict"]?.bool))
        }
        switch root["tool_choice"] {
        case nil, .null:
            return (tools, nil)
        case .string(let text):
            switch text {
            case "auto": return (tools, .auto)
            case "none": return (tools, .disabled)
            case "required": return (tools, .required)
            default: throw GatewayError(.badRequest, "Unknown tool_choice '\(text)'.", param: "tool_choice")
            }
        case .object(let choice):
            switch choice["type"]?.string {
            case "function":
                guard let name = choice["name"]?.string else {
                    throw GatewayError(.badRequest, "tool_choice names no function.", param: "tool_choice.name")
                }
                return (tools, .tool(name: name))
            case "allowed_tools":
                let names = Set((choice["tools"]?.array ?? []).compactMap { $0["name"]?.string })
                let mode: CanonicalToolChoice = choice["mode"]?.string == "required" ? .required : .auto
                let allowed = tools.filter { names.contains($0.name) }
                return (allowed, allowed.isEmpty ? .disabled : mode)
            case let type:
                throw GatewayError(
                    .badRequest,
                    "tool_choice of type '\(type ?? "none")' is not available for this model (its provider is "
                        + "translated).",
                    param: "tool_choice")
            }
        default:
            throw GatewayError(.badRequest, "tool_choice is malformed.", param: "tool_choice")
        }
    }

    /// `text.format`: `text`, `json_object`, or `json_schema` (flat: name, schema, strict).
    private static func decodeFormat(_ value: JSONValue?) throws(GatewayError) -> CanonicalResponseFormat? {
        guard let format = value?.object else { return nil }
        switch format["type"]?.string {
        case "text", nil: return .text
        case "json_object": return .jsonObject
        case "json_schema":
            return .jsonSchema(
                name: format["name"]?.string ?? "response", schema: format["schema"]?.bytes,
                strict: format["strict"]?.bool)
        case let type?:
            throw GatewayError(.badRequest, "Unknown text.format type '\(type)'.", param: "text.format.type")
        }
    }
}

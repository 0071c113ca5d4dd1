import GatewayCore

/// Reads an Anthropic Messages request body (`POST /v1/messages`, docs/wire/anthropic.md) into a
/// `CanonicalRequest`. Errors name the field at fault in Anthropic's dotted style
/// (`messages.1.content.0`), with `param` set to the top-level field.
///
/// - `system`, a string or text blocks, becomes the instructions, one per block (an empty string
///   gives none).
/// - A user turn's `tool_result` blocks become `.tool` messages, one result each, ahead of the rest
///   of that turn, which follows as a `.user` message when anything remains.
/// - `tool_use.input` becomes the call's `arguments` as compact JSON text (members in their order,
///   numbers as sent).
/// - `tool_choice` `any` is `.required`, `none` is `.disabled`; `disable_parallel_tool_use: true`
///   sets `parallelToolCalls` to false. `thinking` `adaptive` leaves thinking to the provider (nil).
/// - Streams always carry usage in Anthropic's dialect, so `includeUsage` follows `stream`.
/// - Refused with a 400 rather than dropped: roles other than `user`/`assistant`, block types the
///   canonical model cannot carry (`document`, `search_result`, server-tool blocks, …), `file`
///   image sources, `tool_use` in a user turn or `tool_result` in an assistant turn, server tools
///   (`web_search_20250305`, …), MCP servers, a missing or non-positive `max_tokens`.
/// - Ignored: `cache_control`, `citations`, `service_tier`, `container`, `context_management`,
///   `metadata` other than `user_id`.
public enum AnthropicMessagesRequestDecoder {
    public static func decode(_ body: [UInt8]) throws(GatewayError) -> CanonicalRequest {
        guard let root = JSONScanner.parseObject(body) else {
            throw GatewayError(.badRequest, "The request body is not a JSON object.")
        }
        guard let model = root["model"]?.string, !model.isEmpty else {
            let problem = isAbsent(root["model"]) ? "Field required" : "Input should be a non-empty string"
            throw GatewayError(.badRequest, "model: \(problem)", param: "model")
        }
        var request = CanonicalRequest(model: model)
        request.sampling.maxOutputTokens = try maxTokens(root["max_tokens"])
        request.system = try system(root["system"])
        request.messages = try messages(root["messages"])
        request.tools = try tools(root["tools"])
        request.cacheMarks = CanonicalCacheMarks(
            system: root["system"]?.array?.contains { $0["cache_control"] != nil } ?? false,
            tools: root["tools"]?.array?.contains { $0["cache_control"] != nil } ?? false)
        if let choice = root["tool_choice"], !choice.isNull {
            let (choice, parallel) = try toolChoice(choice)
            request.toolChoice = choice
            request.parallelToolCalls = parallel
        }
        request.thinking = try thinking(root["thinking"])
        request.sampling.temperature = try number(root, "temperature")
        request.sampling.topP = try number(root, "top_p")
        request.sampling.topK = try integer(root, "top_k")
        request.sampling.stopSequences = try stopSequences(root["stop_sequences"])
        request.stream = try flag(root, "stream") ?? false
        request.includeUsage = request.stream
        if let metadata = root["metadata"]?.object {
            request.user = metadata["user_id"]?.string
        }
        if let servers = root["mcp_servers"]?.array, !servers.isEmpty {
            throw GatewayError(
                .badRequest, "mcp_servers: MCP servers are not supported by this gateway", param: "mcp_servers")
        }
        return request
    }

    private static func maxTokens(_ value: JSONValue?) throws(GatewayError) -> Int {
        if isAbsent(value) { throw GatewayError(.badRequest, "max_tokens: Field required", param: "max_tokens") }
        guard let tokens = value?.int, tokens >= 1 else {
            throw GatewayError(
                .badRequest, "max_tokens: Input should be an integer greater than or equal to 1", param: "max_tokens")
        }
        return tokens
    }

    private static func system(_ value: JSONValue?) throws(GatewayError) -> [String] {
        if isAbsent(value) { return [] }
        if let text = value?.string { return text.isEmpty ? [] : [text] }
        guard let blocks = value?.array else {
            throw GatewayError(
                .badRequest, "system: Input should be a string or a list of text blocks", param: "system")
        }
        var texts: [String] = []
        for (index, block) in blocks.enumerated() {
            guard block["type"]?.string == "text", let text = block["text"]?.string else {
                throw GatewayError(.badRequest, "system.\(index): Input should be a text block", param: "system")
            }
            texts.append(text)
        }
        return texts
    }

    private static func messages(_ value: JSONValue?) throws(GatewayError) -> [CanonicalMessage] {
        if isAbsent(value) { throw GatewayError(.badRequest, "messages: Field required", param: "messages") }
        guard let list = value?.array, !list.isEmpty else {
            throw GatewayError(
                .badRequest, "messages: Input should be a non-empty list of messages", param: "messages")
        }
        var messages: [CanonicalMessage] = []
        for (index, value) in list.enumerated() {
            let path = "messages.\(index)"
            guard let message = value.object else {
                throw GatewayError(.badRequest, "\(path): Input should be an object", param: "messages")
            }
            let role = message["role"]?.string
            guard role == "user" || role == "assistant" else {
                throw GatewayError(
                    .badRequest,
                    "\(path).role: Input should be 'user' or 'assistant', not '\(role ?? "none")'"
                        + (role == "system" ? " (use the top-level system field)" : ""),
                    param: "messages"
                )
            }
            let isUser = role == "user"
            var results: [CanonicalMessage] = []
            var parts: [CanonicalContentPart] = []
            for part in try content(message["content"], path: "\(path).content", isUser: isUser) {
                if case .toolResult = part {
                    results.append(CanonicalMessage(role: .tool, content: [part]))
                } else {
                    parts.append(part)
                }
            }
            messages += results
            if results.isEmpty || !parts.isEmpty {
                messages.append(CanonicalMessage(role: isUser ? .user : .assistant, content: parts))
            }
        }
        return messages
    }

    /// A message's `content`: a string or a list of blocks.
    private static func content(_ value: JSONValue?, path: String, isUser: Bool) throws(GatewayError)
        -> [CanonicalContentPart]
    {
        if let text = value?.string { return [.text(text)] }
        guard let blocks = value?.array else {
            throw GatewayError(
                .badRequest, "\(path): Input should be a string or a list of content blocks", param: "messages")
        }
        var parts: [CanonicalContentPart] = []
        for (index, value) in blocks.enumerated() {
            let blockPath = "\(path).\(index)"
            guard let block = value.object else {
                throw GatewayError(.badRequest, "\(blockPath): Input should be an object", param: "messages")
            }
            let type = block["type"]?.string ?? ""
            switch type {
            case "text", "image":
                parts.append(try textOrImage(block, path: blockPath))
            case "tool_use" where !isUser:
                parts.append(.toolCall(try toolCall(block, path: blockPath)))
            case "tool_result" where isUser:
                parts.append(.toolResult(try toolResult(block, path: blockPath)))
            case "thinking":
                parts.append(
                    .thinking(
                        text: try string(block, "thinking", path: blockPath),
                        signature: block["signature"]?.string
                    )
                )
            case "redacted_thinking":
                parts.append(.redactedThinking(data: try string(block, "data", path: blockPath)))
            case "tool_use", "tool_result":
                throw GatewayError(
                    .badRequest,
                    "\(blockPath): a '\(type)' block cannot appear in a\(isUser ? " user" : "n assistant") message",
                    param: "messages"
                )
            default:
                throw GatewayError(
                    .badRequest,
                    "\(blockPath): content block type '\(type)' is not supported by this gateway",
                    param: "messages"
                )
            }
        }
        return parts
    }

    private static func textOrImage(_ block: JSONObject, path: String) throws(GatewayError) -> CanonicalContentPart {
        if block["type"]?.string == "text" { return .text(try string(block, "text", path: path)) }
        guard let source = block["source"]?.object else {
            throw GatewayError(.badRequest, "\(path).source: Field required", param: "messages")
        }
        let sourcePath = "\(path).source"
        switch source["type"]?.string {
        case "base64":
            let mediaType = try string(source, "media_type", path: sourcePath)
            let data = try string(source, "data", path: sourcePath)
            return .image(CanonicalImage(source: .base64(mediaType: mediaType, data: data)))
        case "url":
            return .image(CanonicalImage(source: .url(try string(source, "url", path: sourcePath))))
        case let type:
            throw GatewayError(
                .badRequest,
                "\(sourcePath): image source type '\(type ?? "none")' is not supported by this gateway",
                param: "messages"
            )
        }
    }

    private static func toolCall(_ block: JSONObject, path: String) throws(GatewayError) -> CanonicalToolCall {
        let input = block["input"] ?? .object(JSONObject())
        guard input.object != nil else {
            throw GatewayError(.badRequest, "\(path).input: Input should be an object", param: "messages")
        }
        return CanonicalToolCall(
            id: try string(block, "id", path: path),
            name: try string(block, "name", path: path),
            arguments: String(decoding: input.bytes, as: UTF8.self)
        )
    }

    private static func toolResult(_ block: JSONObject, path: String) throws(GatewayError) -> CanonicalToolResult {
        let id = try string(block, "tool_use_id", path: path)
        var content: [CanonicalContentPart] = []
        switch block["content"] {
        case nil, .null: break
        case .string(let text): content = [.text(text)]
        case .array(let blocks):
            for (index, value) in blocks.enumerated() {
                let blockPath = "\(path).content.\(index)"
                guard let inner = value.object, let type = inner["type"]?.string, type == "text" || type == "image"
                else {
                    let type = value["type"]?.string ?? "none"
                    throw GatewayError(
                        .badRequest,
                        "\(blockPath): tool_result content of type '\(type)' is not supported by this gateway",
                        param: "messages"
                    )
                }
                content.append(try textOrImage(inner, path: blockPath))
            }
        default:
            throw GatewayError(
                .badRequest, "\(path).content: Input should be a string or a list of content blocks",
                param: "messages")
        }
        return CanonicalToolResult(
            toolCallID: id, content: content, isError: block["is_error"]?.bool ?? false)
    }

    private static func tools(_ value: JSONValue?) throws(GatewayError) -> [CanonicalTool] {
        if isAbsent(value) { return [] }
        guard let list = value?.array else {
            throw GatewayError(.badRequest, "tools: Input should be a list", param: "tools")
        }
        var tools: [CanonicalTool] = []
        for (index, value) in list.enumerated() {
            let path = "tools.\(index)"
            guard let tool = value.object else {
                throw GatewayError(.badRequest, "\(path): Input should be an object", param: "tools")
            }
            if let type = tool["type"]?.string, type != "custom" {
                throw GatewayError(
                    .badRequest, "\(path): server tool type '\(type)' is not supported by this gateway", param: "tools")
            }
            guard let name = tool["name"]?.string, !name.isEmpty else {
                throw GatewayError(.badRequest, "\(path).name: Field required", param: "tools")
            }
            let schema = tool["input_schema"]
            guard isAbsent(schema) || schema?.object != nil else {
                throw GatewayError(.badRequest, "\(path).input_schema: Input should be an object", param: "tools")
            }
            tools.append(
                CanonicalTool(
                    name: name,
                    description: tool["description"]?.string,
                    parameters: isAbsent(schema) ? nil : schema?.bytes
                )
            )
        }
        return tools
    }

    /// The choice, and `false` for parallel tool calls when the client disabled them.
    private static func toolChoice(_ value: JSONValue) throws(GatewayError) -> (CanonicalToolChoice, Bool?) {
        guard let object = value.object else {
            throw GatewayError(.badRequest, "tool_choice: Input should be an object", param: "tool_choice")
        }
        let parallel: Bool? = object["disable_parallel_tool_use"]?.bool == true ? false : nil
        switch object["type"]?.string {
        case "auto": return (.auto, parallel)
        case "any": return (.required, parallel)
        case "none": return (.disabled, nil)
        case "tool":
            guard let name = object["name"]?.string, !name.isEmpty else {
                throw GatewayError(.badRequest, "tool_choice.name: Field required", param: "tool_choice")
            }
            return (.tool(name: name), parallel)
        case let type:
            throw GatewayError(
                .badRequest,
                "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none', not '\(type ?? "none")'",
                param: "tool_choice"
            )
        }
    }

    private static func thinking(_ value: JSONValue?) throws(GatewayError) -> CanonicalThinking? {
        if isAbsent(value) { return nil }
        guard let object = value?.object else {
            throw GatewayError(.badRequest, "thinking: Input should be an object", param: "thinking")
        }
        switch object["type"]?.string {
        case "enabled":
            guard let budget = object["budget_tokens"]?.int, budget >= 1 else {
                throw GatewayError(
                    .badRequest, "thinking.budget_tokens: Input should be a positive integer", param: "thinking")
            }
            return .budget(budget)
        case "disabled": return .disabled
        case "adaptive": return nil
        case let type:
            throw GatewayError(
                .badRequest,
                "thinking.type: Input should be 'enabled', 'disabled' or 'adaptive', not '\(type ?? "none")'",
                param: "thinking"
            )
        }
    }

    private static func stopSequences(_ value: JSONValue?) throws(GatewayError) -> [String] {
        if isAbsent(value) { return [] }
        let strings = value?.array?.compactMap(\.string)
        guard let strings, strings.count == value?.array?.count else {
            throw GatewayError(
                .badRequest, "stop_sequences: Input should be a list of strings", param: "stop_sequences")
        }
        return strings
    }

    // MARK: - Fields

    private static func isAbsent(_ value: JSONValue?) -> Bool {
        value == nil || value == .null
    }

    /// A required string field of a block.
    private static func string(_ object: JSONObject, _ name: String, path: String) throws(GatewayError) -> String {
        guard let value = object[name]?.string else {
            let problem = isAbsent(object[name]) ? "Field required" : "Input should be a string"
            throw GatewayError(.badRequest, "\(path).\(name): \(problem)", param: "messages")
        }
        return value
    }

    private static func number(_ root: JSONObject, _ name: String) throws(GatewayError) -> Double? {
        if isAbsent(root[name]) { return nil }
        guard let value = root[name]?.double else {
            throw GatewayError(.badRequest, "\(name): Input should be a number", param: name)
        }
        return value
    }

    private static func integer(_ root: JSONObject, _ name: String) throws(GatewayError) -> Int? {
        if isAbsent(root[name]) { return nil }
        guard let value = root[name]?.int else {
            throw GatewayError(.badRequest, "\(name): Input should be an integer", param: name)
        }
        return value
    }

    private static func flag(_ root: JSONObject, _ name: String) throws(GatewayError) -> Bool? {
        if isAbsent(root[name]) { return nil }
        guard let value = root[name]?.bool else {
            throw GatewayError(.badRequest, "\(name): Input should be a boolean", param: name)
        }
        return value
    }
}

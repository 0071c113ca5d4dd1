import Foundation

/// A Messages request the mock has validated as the real API would, reduced to what the answer needs.
struct AnthropicMockRequest {
    var model: String
    var faults: String?
    var maxTokens: Int
    var stream: Bool
    var thinking: Bool
    var inputTokens: Int
    var lastUserText: String
    /// The text of the tool results in the last user message, when it has any.
    var toolResult: String?
    /// The tool to call: nil without tools or with `tool_choice` `none`.
    var tool: (name: String, schema: [String: Any])?

    static let fields: Set<String> = [
        "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "temperature",
        "top_k", "top_p", "tools", "tool_choice", "thinking", "service_tier", "container", "mcp_servers",
        "context_management",
    ]

    /// Validates `body`; the failure is the real API's 400 message. `count_tokens` needs no `max_tokens`.
    init(body: [String: Any], requireMaxTokens: Bool) throws(AnthropicMockRejection) {
        for key in body.keys.sorted() where !Self.fields.contains(key) {
            if !requireMaxTokens, key == "max_tokens" { continue }
            throw .init("\(key): Extra inputs are not permitted")
        }
        guard let rawModel = body["model"] as? String, !rawModel.isEmpty else { throw .init("model: Field required") }
        let split = OpenAIMockResponder.splitModel(rawModel)
        (model, faults) = (split.model, split.faults)
        if requireMaxTokens {
            guard let value = body["max_tokens"], !(value is NSNull) else { throw .init("max_tokens: Field required") }
            guard let number = value as? Int, !(value is Bool) else {
                throw .init("max_tokens: Input should be a valid integer")
            }
            guard number >= 1 else { throw .init("max_tokens: Input should be greater than or equal to 1") }
            maxTokens = number
        } else {
            maxTokens = Int.max
        }
        stream = body["stream"] as? Bool ?? false
        thinking = try Self.thinking(body["thinking"], maxTokens: maxTokens)
        inputTokens = 3 + (try Self.systemTokens(body["system"]))
        let tools = try Self.tools(body["tools"])
        for tool in tools {
            inputTokens += 8 + MockTokens.count(tool["name"] as? String ?? "")
        }
        tool = try Self.chosenTool(tools, choice: body["tool_choice"])

        guard let messagesValue = body["messages"], !(messagesValue is NSNull) else {
            throw .init("messages: Field required")
        }
        guard let messages = messagesValue as? [[String: Any]] else {
            throw .init("messages: Input should be a valid list")
        }
        guard !messages.isEmpty else { throw .init("messages: at least one message is required") }
        var check = AnthropicMockConversationCheck()
        for (index, message) in messages.enumerated() {
            try check.add(message, index: index, isLast: index == messages.count - 1)
        }
        try check.finish()
        inputTokens += check.tokens
        lastUserText = check.lastUserText
        toolResult = check.lastUserToolResult
    }

    private static func thinking(_ value: Any?, maxTokens: Int) throws(AnthropicMockRejection) -> Bool {
        guard let value, !(value is NSNull) else { return false }
        guard let object = value as? [String: Any], let type = object["type"] as? String else {
            throw .init("thinking: Input should be a valid dictionary or object to extract fields from")
        }
        switch type {
        case "disabled": return false
        case "adaptive": return true
        case "enabled":
            guard let budget = object["budget_tokens"] as? Int else {
                throw .init("thinking.enabled.budget_tokens: Field required")
            }
            if budget < 1024 {
                throw .init("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
            }
            if budget >= maxTokens { throw .init("`max_tokens` must be greater than `thinking.budget_tokens`") }
            return true
        default:
            throw .init(
                "thinking: Input tag '\(type)' found using 'type' does not match any of the expected tags: "
                    + "'enabled', 'disabled', 'adaptive'"
            )
        }
    }

    private static func systemTokens(_ value: Any?) throws(AnthropicMockRejection) -> Int {
        guard let value, !(value is NSNull) else { return 0 }
        if let text = value as? String { return MockTokens.count(text) }
        guard let blocks = value as? [[String: Any]] else { throw .init("system: Input should be a valid list") }
        var tokens = 0
        for (index, block) in blocks.enumerated() {
            guard block["type"] as? String == "text" else {
                throw .init("system.\(index).type: Input should be 'text'")
            }
            guard let text = block["text"] as? String else { throw .init("system.\(index).text: Field required") }
            tokens += MockTokens.count(text)
        }
        return tokens
    }

    private static func tools(_ value: Any?) throws(AnthropicMockRejection) -> [[String: Any]] {
        guard let value, !(value is NSNull) else { return [] }
        guard let tools = value as? [[String: Any]] else { throw .init("tools: Input should be a valid list") }
        var names = Set<String>()
        for (index, tool) in tools.enumerated() {
            if let type = tool["type"] as? String, type != "custom" {
                throw .init("tools.\(index).type: Input tag '\(type)' does not match any of the expected tags")
            }
            let known: Set = ["type", "name", "description", "input_schema", "cache_control", "strict"]
            if let extra = tool.keys.sorted().first(where: { !known.contains($0) }) {
                throw .init("tools.\(index).custom.\(extra): Extra inputs are not permitted")
            }
            guard let name = tool["name"] as? String else { throw .init("tools.\(index).name: Field required") }
            let valid =
                (1...128).contains(name.count)
                && name.unicodeScalars.allSatisfy {
                    $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" || $0 == "-")
                }
            guard valid else {
                throw .init("tools.\(index).name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'")
            }
            guard names.insert(name).inserted else { throw .init("tools: Tool names must be unique.") }
            guard let schema = tool["input_schema"] as? [String: Any] else {
                throw .init("tools.\(index).input_schema: Field required")
            }
            guard schema["type"] as? String == "object" else {
                throw .init("tools.\(index).input_schema.type: Input should be 'object'")
            }
        }
        return tools
    }

    private static func chosenTool(
        _ tools: [[String: Any]], choice: Any?
    ) throws(AnthropicMockRejection) -> (name: String, schema: [String: Any])? {
        func entry(_ tool: [String: Any]?) -> (name: String, schema: [String: Any])? {
            guard let tool, let name = tool["name"] as? String else { return nil }
            return (name, tool["input_schema"] as? [String: Any] ?? [:])
        }
        guard let choice, !(choice is NSNull) else { return entry(tools.first) }
        guard let object = choice as? [String: Any], let type = object["type"] as? String else {
            throw .init("tool_choice: Input should be a valid dictionary or object to extract fields from")
        }
        if tools.isEmpty, type != "none" {
            throw .init("tool_choice: tool_choice may only be specified while providing tools")
        }
        switch type {
        case "auto", "any": return entry(tools.first)
        case "none": return nil
        case "tool":
            guard let name = object["name"] as? String else { throw .init("tool_choice.tool.name: Field required") }
            guard let tool = tools.first(where: { $0["name"] as? String == name }) else {
                throw .init("tool_choice: Tool '\(name)' not found in provided tools")
            }
            return entry(tool)
        default:
            throw .init(
                "tool_choice: Input tag '\(type)' found using 'type' does not match any of the expected tags: "
                    + "'auto', 'any', 'tool', 'none'"
            )
        }
    }
}

/// A 400 `invalid_request_error` message.
struct AnthropicMockRejection: Error {
    var message: String

    init(_ message: String) { self.message = message }
}

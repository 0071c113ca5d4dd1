import Foundation

/// The Messages API's rules for `messages`, checked one message at a time: roles, alternation, block types,
/// image sources, and `tool_use` blocks answered by `tool_result` blocks in the very next user message.
struct AnthropicMockConversationCheck {
    private(set) var tokens = 0
    private(set) var lastUserText = ""
    private(set) var lastUserToolResult: String?
    private var previousRole: String?
    /// `tool_use` ids of the previous (assistant) message, to be answered by this one.
    private var pendingToolUses: [String] = []
    private var pendingIndex = 0

    static let blockTypes = "'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'"
    static let mediaTypes: Set<String> = ["image/jpeg", "image/png", "image/gif", "image/webp"]

    mutating func add(_ message: [String: Any], index: Int, isLast: Bool) throws(AnthropicMockRejection) {
        guard let role = message["role"] as? String else { throw .init("messages.\(index).role: Field required") }
        if role == "system" || role == "developer" {
            throw .init(
                "messages: Unexpected role \"\(role)\". The Messages API accepts a top-level `system` parameter, "
                    + "not \"\(role)\" as an input message role."
            )
        }
        guard role == "user" || role == "assistant" else {
            throw .init("messages.\(index).role: Input should be 'user' or 'assistant'")
        }
        if index == 0, role != "user" { throw .init("messages: first message must use the \"user\" role") }
        if role == previousRole {
            throw .init(
                "messages: roles must alternate between \"user\" and \"assistant\", but found multiple "
                    + "\"\(role)\" roles in a row"
            )
        }
        let blocks = try Self.blocks(of: message, index: index, mayBeEmpty: isLast && role == "assistant")
        var texts: [String] = []
        var results: [String] = []
        var resultIDs: [(id: String, block: Int)] = []
        var toolUses: [String] = []
        var seenOtherContent = false
        for (number, block) in blocks.enumerated() {
            let path = "messages.\(index).content.\(number)"
            guard let type = block["type"] as? String else { throw .init("\(path).type: Field required") }
            switch type {
            case "text":
                guard let text = block["text"] as? String else { throw .init("\(path).text: Field required") }
                if text.isEmpty { throw .init("\(path): text content blocks must be non-empty") }
                texts.append(text)
                seenOtherContent = true
            case "image":
                try Self.checkImage(block, path: path)
                tokens += 85
                seenOtherContent = true
            case "document":
                guard block["source"] is [String: Any] else { throw .init("\(path).source: Field required") }
                seenOtherContent = true
            case "tool_use":
                guard role == "assistant" else {
                    throw .init("\(path): tool_use blocks may only appear in assistant messages")
                }
                guard let id = block["id"] as? String else { throw .init("\(path).id: Field required") }
                guard let name = block["name"] as? String else { throw .init("\(path).name: Field required") }
                guard block["input"] is [String: Any] else {
                    throw .init("\(path).input: Input should be a valid dictionary")
                }
                toolUses.append(id)
                tokens += MockTokens.count(name) + 4
            case "tool_result":
                guard role == "user" else {
                    throw .init("\(path): tool_result blocks may only appear in user messages")
                }
                guard let id = block["tool_use_id"] as? String else {
                    throw .init("\(path).tool_use_id: Field required")
                }
                if seenOtherContent {
                    throw .init(
                        "messages.\(index): tool_result blocks must come before any other content in the message")
                }
                if let isError = block["is_error"], !(isError is Bool) {
                    throw .init("\(path).is_error: Input should be a valid boolean")
                }
                let text = try Self.resultText(block["content"], path: path)
                results.append(text)
                resultIDs.append((id, number))
                tokens += MockTokens.count(text)
            case "thinking":
                guard role == "assistant" else {
                    throw .init("\(path): thinking blocks may only appear in assistant messages")
                }
                guard block["thinking"] is String else { throw .init("\(path).thinking: Field required") }
                guard block["signature"] is String else { throw .init("\(path).signature: Field required") }
            case "redacted_thinking":
                guard block["data"] is String else { throw .init("\(path).data: Field required") }
            default:
                throw .init(
                    "\(path): Input tag '\(type)' found using 'type' does not match any of the expected tags: "
                        + Self.blockTypes
                )
            }
        }
        let answered = Set(resultIDs.map(\.id))
        let missing = pendingToolUses.filter { !answered.contains($0) }
        if !missing.isEmpty { throw Self.unanswered(missing, index: pendingIndex) }
        if let stray = resultIDs.first(where: { !pendingToolUses.contains($0.id) }) {
            throw .init(
                "messages.\(index).content.\(stray.block): unexpected `tool_use_id` found in `tool_result` blocks: "
                    + "\(stray.id). Each `tool_result` block must have a corresponding `tool_use` block in the "
                    + "previous message."
            )
        }
        pendingToolUses = toolUses
        pendingIndex = index
        previousRole = role
        tokens += 3 + texts.reduce(0) { $0 + MockTokens.count($1) }
        if role == "user" {
            lastUserText = texts.joined(separator: " ")
            lastUserToolResult = results.isEmpty ? nil : results.joined(separator: " ")
        }
    }

    func finish() throws(AnthropicMockRejection) {
        if !pendingToolUses.isEmpty { throw Self.unanswered(pendingToolUses, index: pendingIndex) }
    }

    private static func unanswered(_ ids: [String], index: Int) -> AnthropicMockRejection {
        .init(
            "messages.\(index): `tool_use` ids were found without `tool_result` blocks immediately after: "
                + ids.joined(separator: ", ") + ". Each `tool_use` block must have a corresponding `tool_result` "
                + "block in the next message."
        )
    }

    private static func blocks(
        of message: [String: Any], index: Int, mayBeEmpty: Bool
    ) throws(AnthropicMockRejection) -> [[String: Any]] {
        let empty = AnthropicMockRejection(
            "messages.\(index): all messages must have non-empty content except for the optional final assistant "
                + "message"
        )
        switch message["content"] {
        case let text as String:
            if text.isEmpty, !mayBeEmpty { throw empty }
            return text.isEmpty ? [] : [["type": "text", "text": text]]
        case let blocks as [[String: Any]]:
            if blocks.isEmpty, !mayBeEmpty { throw empty }
            return blocks
        case nil, is NSNull:
            throw .init("messages.\(index).content: Field required")
        default:
            throw .init("messages.\(index).content: Input should be a valid list")
        }
    }

    private static func checkImage(_ block: [String: Any], path: String) throws(AnthropicMockRejection) {
        guard let source = block["source"] as? [String: Any] else { throw .init("\(path).source: Field required") }
        switch source["type"] as? String {
        case "base64":
            guard let mediaType = source["media_type"] as? String, mediaTypes.contains(mediaType) else {
                throw .init(
                    "\(path).source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or "
                        + "'image/webp'"
                )
            }
            guard let data = source["data"] as? String, !data.isEmpty, Data(base64Encoded: data) != nil else {
                throw .init("\(path).source.base64.data: The image data is not valid base64.")
            }
        case "url":
            guard let url = source["url"] as? String, url.hasPrefix("https://") || url.hasPrefix("http://") else {
                throw .init("\(path).source.url.url: Field required")
            }
        case "file":
            guard source["file_id"] is String else { throw .init("\(path).source.file.file_id: Field required") }
        default:
            throw .init(
                "\(path).source: Input tag '\(source["type"] as? String ?? "")' found using 'type' does not match "
                    + "any of the expected tags: 'base64', 'url', 'file'"
            )
        }
    }

    /// A `tool_result`'s content as text: a string, or its text blocks (images allowed, not quoted).
    private static func resultText(_ content: Any?, path: String) throws(AnthropicMockRejection) -> String {
        switch content {
        case nil, is NSNull: return ""
        case let text as String: return text
        case let blocks as [[String: Any]]:
            var texts: [String] = []
            for (number, block) in blocks.enumerated() {
                switch block["type"] as? String {
                case "text": texts.append(block["text"] as? String ?? "")
                case "image": try checkImage(block, path: "\(path).content.\(number)")
                default:
                    throw .init("\(path).content.\(number).type: Input should be 'text', 'image' or 'document'")
                }
            }
            return texts.joined(separator: " ")
        default:
            throw .init("\(path).content: Input should be a valid string or list")
        }
    }
}

import GatewayCore

/// Canonical messages as Anthropic's `messages` array: user and assistant turns only, consecutive
/// same-role turns merged, tool results first in their user turn.
enum AnthropicMessageBuilder {
    private struct Turn {
        var role: String
        /// Encoded content blocks.
        var results: [[UInt8]] = []
        var blocks: [[UInt8]] = []
    }

    static func messages(_ messages: [CanonicalMessage]) throws(GatewayError) -> [UInt8] {
        var turns: [Turn] = []
        for message in messages {
            let role = message.role == .assistant ? "assistant" : "user"
            var turn = Turn(role: role)
            for part in message.content {
                if case .toolResult(let result) = part {
                    turn.results.append(toolResult(result))
                } else if let block = try block(part) {
                    turn.blocks.append(block)
                }
            }
            guard !turn.results.isEmpty || !turn.blocks.isEmpty else { continue }
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].results += turn.results
                turns[turns.count - 1].blocks += turn.blocks
            } else {
                turns.append(turn)
            }
        }
        var json = JSONWriter(capacity: 1024)
        json.array { json in
            for turn in turns {
                json.object {
                    $0.field("role", turn.role)
                    $0.key("content")
                    $0.array { json in
                        for block in turn.results + turn.blocks { json.raw(block) }
                    }
                }
            }
        }
        return json.bytes
    }

    /// One content block, or nil for a part Anthropic would reject (empty text, unsigned thinking).
    private static func block(_ part: CanonicalContentPart) throws(GatewayError) -> [UInt8]? {
        var json = JSONWriter(capacity: 128)
        switch part {
        case .text(let text):
            guard !text.isEmpty else { return nil }
            json.object {
                $0.field("type", "text")
                $0.field("text", text)
            }
        case .image(let image):
            json.object {
                $0.field("type", "image")
                $0.key("source")
                writeImageSource(image.source, into: &$0)
            }
        case .toolCall(let call):
            let input = try inputObject(call)
            json.object {
                $0.field("type", "tool_use")
                $0.field("id", call.id)
                $0.field("name", call.name)
                $0.field("input", rawJSON: input)
            }
        case .thinking(let text, let signature):
            guard let signature, !signature.isEmpty else { return nil }
            json.object {
                $0.field("type", "thinking")
                $0.field("thinking", text)
                $0.field("signature", signature)
            }
        case .redactedThinking(let data):
            json.object {
                $0.field("type", "redacted_thinking")
                $0.field("data", data)
            }
        case .toolResult(let result):
            return toolResult(result)
        }
        return json.bytes
    }

    private static func toolResult(_ result: CanonicalToolResult) -> [UInt8] {
        var json = JSONWriter(capacity: 128)
        json.object {
            $0.field("type", "tool_result")
            $0.field("tool_use_id", result.toolCallID)
            let texts = result.content.compactMap { part -> String? in
                if case .text(let text) = part { return text }
                return nil
            }
            if texts.count == result.content.count {
                $0.field("content", texts.joined())
            } else {
                $0.key("content")
                $0.array { json in
                    for part in result.content {
                        switch part {
                        case .text(let text) where !text.isEmpty:
                            json.object {
                                $0.field("type", "text")
                                $0.field("text", text)
                            }
                        case .image(let image):
                            json.object {
                                $0.field("type", "image")
                                $0.key("source")
                                writeImageSource(image.source, into: &$0)
                            }
                        default: break
                        }
                    }
                }
            }
            if result.isError { $0.field("is_error", true) }
        }
        return json.bytes
    }

    private static func writeImageSource(_ source: CanonicalImage.Source, into json: inout JSONWriter) {
        json.object {
            switch source {
            case .base64(let mediaType, let data):
                $0.field("type", "base64")
                $0.field("media_type", mediaType)
                $0.field("data", data)
            case .url(let url):
                $0.field("type", "url")
                $0.field("url", url)
            }
        }
    }

    /// The arguments as a JSON object: `{}` when empty, a 400 when not an object.
    private static func inputObject(_ call: CanonicalToolCall) throws(GatewayError) -> [UInt8] {
        let trimmed = DialectJSON.trimmed(call.arguments)
        if trimmed.isEmpty { return Array("{}".utf8) }
        guard DialectJSON.isObject(trimmed) else {
            throw GatewayError(
                .badRequest,
                "The arguments of tool call '\(call.id)' are not a JSON object; this provider needs one.",
                param: "messages"
            )
        }
        return Array(trimmed.utf8)
    }
}

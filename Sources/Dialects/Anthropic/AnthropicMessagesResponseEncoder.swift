import GatewayCore

/// Writes a `CanonicalResponse` as an Anthropic `message` body (docs/wire/anthropic.md), for clients
/// that speak Anthropic to the gateway.
///
/// - `id` keeps a provider's `msg_…` id; any other id gets the `msg_` prefix (see `messageID`).
/// - Tool calls become `tool_use` blocks whose `input` is the arguments object, written as the
///   model produced it; arguments that are empty or not a JSON object read as `{}`.
/// - Thinking keeps its signature (`""` when the provider gave none). Images and tool results have
///   no place in an answer and are left out.
/// - `usage` is always present (zeros when the provider reported none), in Anthropic's convention:
///   `input_tokens` counts only uncached input.
public enum AnthropicMessagesResponseEncoder {
    /// - Parameter model: the model to report, nil for the provider's own.
    public static func encode(_ response: CanonicalResponse, model: String? = nil) -> [UInt8] {
        let stop = stopReason(response.stopReason, stopSequence: response.stopSequence)
        var json = JSONWriter(capacity: 512)
        json.object {
            $0.field("id", messageID(response.id))
            $0.field("type", "message")
            $0.field("role", "assistant")
            $0.field("model", model ?? response.model)
            $0.key("content")
            $0.array { json in
                for part in response.content { writeBlock(part, into: &json) }
            }
            $0.field("stop_reason", stop)
            $0.field("stop_sequence", stop == "stop_sequence" ? response.stopSequence : nil)
            $0.key("usage")
            writeUsage(response.usage, into: &$0)
        }
        return json.bytes
    }

    private static func writeBlock(_ part: CanonicalContentPart, into json: inout JSONWriter) {
        switch part {
        case .text(let text):
            json.object {
                $0.field("type", "text")
                $0.field("text", text)
            }
        case .toolCall(let call):
            json.object {
                $0.field("type", "tool_use")
                $0.field("id", call.id)
                $0.field("name", call.name)
                $0.field("input", rawJSON: inputObject(call.arguments))
            }
        case .thinking(let text, let signature):
            json.object {
                $0.field("type", "thinking")
                $0.field("thinking", text)
                $0.field("signature", signature ?? "")
            }
        case .redactedThinking(let data):
            json.object {
                $0.field("type", "redacted_thinking")
                $0.field("data", data)
            }
        case .image, .toolResult:
            break
        }
    }

    /// Tool-call arguments as the `input` object: the model's own text when it is a JSON object,
    /// `{}` otherwise (empty or invalid arguments).
    static func inputObject(_ arguments: String) -> [UInt8] {
        let trimmed = DialectJSON.trimmed(arguments)
        guard DialectJSON.isObject(trimmed) else { return Array("{}".utf8) }
        return Array(trimmed.utf8)
    }

    /// Anthropic's `stop_reason`; a natural stop with a matched sequence is `stop_sequence`.
    static func stopReason(_ reason: CanonicalStopReason?, stopSequence: String?) -> String? {
        switch reason {
        case .stop: stopSequence == nil ? "end_turn" : "stop_sequence"
        case .length: "max_tokens"
        case .toolCalls: "tool_use"
        case .contentFilter: "refusal"
        case .pauseTurn: "pause_turn"
        case nil: nil
        }
    }

    /// Anthropic's usage counters from canonical (OpenAI-convention) usage: cached and
    /// cache-creation tokens come out of `input_tokens`. Nil usage is all zeros.
    static func writeUsage(_ usage: TokenUsage?, into json: inout JSONWriter) {
        let usage = usage ?? TokenUsage(promptTokens: 0, completionTokens: 0)
        let uncached = usage.promptTokens - usage.cachedPromptTokens - usage.cacheCreationPromptTokens
        json.object {
            $0.field("input_tokens", max(0, uncached))
            $0.field("cache_creation_input_tokens", usage.cacheCreationPromptTokens)
            $0.field("cache_read_input_tokens", usage.cachedPromptTokens)
            $0.field("output_tokens", usage.completionTokens)
        }
    }

    /// A `msg_` id: the provider's own when it already is one, else `msg_` and the provider's id
    /// stripped to `[A-Za-z0-9_-]`, or 24 random base62 characters when nothing is left.
    static func messageID(_ id: String) -> String {
        if id.hasPrefix("msg_") { return id }
        let kept = String(String.UnicodeScalarView(id.unicodeScalars.filter(isIDCharacter)))
        return "msg_" + (kept.isEmpty ? randomID() : kept)
    }

    private static func isIDCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", "-": true
        default: false
        }
    }

    private static func randomID() -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var generator = SystemRandomNumberGenerator()
        return String((0..<24).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }
}

import Foundation
import GatewayCore

/// Reads an OpenAI `chat.completion` body (non-stream) from an OpenAI-compatible or Azure provider
/// into a `CanonicalResponse`; the inverse of `OpenAIChatResponseEncoder`. Only `choices[0]` is read.
///
/// The message becomes, in this order:
/// - thinking: `reasoning_content` (DeepSeek, vLLM, LiteLLM), else `reasoning` (OpenRouter, Groq,
///   newer vLLM), with no signature;
/// - text: `content` as a string, or the `text` parts of a content array (Mistral's `thinking` parts
///   there become thinking);
/// - a `refusal` as text. A refusal that ends the answer normally (`finish_reason` `stop` or none)
///   finishes as `contentFilter`, Anthropic's `refusal`;
/// - tool calls (`tool_calls`, then the legacy `function_call`). A missing id is synthesised as
///   `call_<n>`; arguments sent as an object (not OpenAI's string) are written back as JSON text.
///
/// `finish_reason` `stop` (or an unknown value) with tool calls reads as `toolCalls`: some servers
/// (older Ollama, vLLM) say `stop`, and clients loop on a tool-use stop. Empty content adds no part.
/// A `{"error":…}` body throws its classified error; a body that is not a JSON object throws `.server`.
public enum OpenAIChatResponseDecoder {
    public static func decode(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        guard let root = DialectJSON.object(body) else {
            throw CanonicalError(.server, message: "The provider's answer is not a JSON object.")
        }
        if isError(root) { throw OpenAIErrorClassifier.classify(status: nil, root: root) }
        let choice = (root["choices"] as? [Any])?.first as? [String: Any]
        let message = choice?["message"] as? [String: Any] ?? [:]
        var content: [CanonicalContentPart] = []
        var thinking = reasoning(message)
        var text = ""
        for piece in contentPieces(message["content"]) {
            switch piece {
            case .text(let value): text += value
            case .thinking(let value): thinking += value
            }
        }
        if !thinking.isEmpty { content.append(.thinking(text: thinking, signature: nil)) }
        if !text.isEmpty { content.append(.text(text)) }
        let refusal = message["refusal"] as? String ?? ""
        if !refusal.isEmpty { content.append(.text(refusal)) }
        var calls: [[String: Any]] = message["tool_calls"] as? [[String: Any]] ?? []
        if let legacy = message["function_call"] as? [String: Any] { calls.append(["function": legacy]) }
        for (index, call) in calls.enumerated() {
            let function = call["function"] as? [String: Any] ?? [:]
            let id = call["id"] as? String ?? ""
            content.append(
                .toolCall(
                    CanonicalToolCall(
                        id: id.isEmpty ? "call_\(index)" : id,
                        name: function["name"] as? String ?? "",
                        arguments: arguments(function["arguments"])
                    )
                )
            )
        }
        return CanonicalResponse(
            id: root["id"] as? String ?? "",
            model: root["model"] as? String ?? "",
            content: content,
            stopReason: stopReason(
                choice?["finish_reason"] as? String, sawToolCall: !calls.isEmpty, sawRefusal: !refusal.isEmpty),
            usage: usage(root["usage"])
        )
    }

    /// True for `{"error":…}` (non-null) and vLLM's flat `{"object":"error",…}`.
    static func isError(_ root: [String: Any]) -> Bool {
        if let error = root["error"], !(error is NSNull) { return true }
        return root["object"] as? String == "error"
    }

    /// The canonical stop reason for `finish_reason` (nil: none yet). See the type's comment for
    /// tool calls and refusals.
    static func stopReason(_ finishReason: String?, sawToolCall: Bool, sawRefusal: Bool) -> CanonicalStopReason? {
        guard let finishReason else { return sawRefusal ? .contentFilter : nil }
        let reason = CanonicalStopReason(openAIFinishReason: finishReason) ?? .stop
        guard reason == .stop else { return reason }
        if sawToolCall { return .toolCalls }
        return sawRefusal ? .contentFilter : .stop
    }

    /// `reasoning_content`, else `reasoning` (a string; OpenRouter's `reasoning_details` are not read).
    static func reasoning(_ message: [String: Any]) -> String {
        if let text = message["reasoning_content"] as? String, !text.isEmpty { return text }
        return message["reasoning"] as? String ?? ""
    }

    enum ContentPiece: Equatable {
        case text(String)
        case thinking(String)
    }

    /// `content` as a string, or the text of an array of parts: `text` parts, and Mistral's
    /// `{"type":"thinking","thinking":[{"type":"text","text":…}]}` parts as thinking.
    static func contentPieces(_ content: Any?) -> [ContentPiece] {
        if let text = content as? String { return text.isEmpty ? [] : [.text(text)] }
        var pieces: [ContentPiece] = []
        for part in content as? [Any] ?? [] {
            guard let part = part as? [String: Any] else { continue }
            switch part["type"] as? String {
            case "text", "output_text", nil:
                if let text = part["text"] as? String, !text.isEmpty { pieces.append(.text(text)) }
            case "thinking":
                let text = contentPieces(part["thinking"]).reduce(into: "") { result, piece in
                    if case .text(let value) = piece { result += value }
                }
                if !text.isEmpty { pieces.append(.thinking(text)) }
            default:
                break
            }
        }
        return pieces
    }

    /// Tool-call arguments as JSON text: OpenAI's string as is, an object (some servers) written as JSON.
    static func arguments(_ value: Any?) -> String {
        switch value {
        case let text as String: text
        case nil, is NSNull: ""
        case let value?: String(decoding: DialectJSON.bytes(value), as: UTF8.self)
        }
    }

    /// A `usage` object, read by `TokenUsage.openAI`.
    static func usage(_ value: Any?) -> TokenUsage? {
        guard let object = value as? [String: Any] else { return nil }
        let bytes = DialectJSON.bytes(object)
        return TokenUsage.openAI(bytes, at: bytes.indices)
    }
}

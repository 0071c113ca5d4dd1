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
        guard let root = JSONScanner.parseObject(body) else {
            throw CanonicalError(.server, message: "The provider's answer is not a JSON object.")
        }
        if isError(root) { throw OpenAIErrorClassifier.classify(status: nil, root: root) }
        let choice = root["choices"]?[0]?.object
        let message = choice?["message"]?.object ?? JSONObject()
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
        let refusal = message["refusal"]?.string ?? ""
        if !refusal.isEmpty { content.append(.text(refusal)) }
        // `(id, function)` of each call; the legacy `function_call` has no id.
        var calls: [(id: String, function: JSONObject)] = []
        if let toolCalls = message["tool_calls"]?.array, toolCalls.allSatisfy({ $0.object != nil }) {
            calls = toolCalls.map { ($0["id"]?.string ?? "", $0["function"]?.object ?? JSONObject()) }
        }
        if let legacy = message["function_call"]?.object { calls.append(("", legacy)) }
        for (index, call) in calls.enumerated() {
            content.append(
                .toolCall(
                    CanonicalToolCall(
                        id: call.id.isEmpty ? "call_\(index)" : call.id,
                        name: call.function["name"]?.string ?? "",
                        arguments: arguments(call.function["arguments"])
                    )
                )
            )
        }
        return CanonicalResponse(
            id: root["id"]?.string ?? "",
            model: root["model"]?.string ?? "",
            content: content,
            stopReason: stopReason(
                choice?["finish_reason"]?.string, sawToolCall: !calls.isEmpty, sawRefusal: !refusal.isEmpty),
            usage: usage(root["usage"])
        )
    }

    /// True for `{"error":…}` (non-null) and vLLM's flat `{"object":"error",…}`.
    static func isError(_ root: JSONObject) -> Bool {
        if let error = root["error"], !error.isNull { return true }
        return root["object"]?.string == "error"
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
    static func reasoning(_ message: JSONObject) -> String {
        if let text = message["reasoning_content"]?.string, !text.isEmpty { return text }
        return message["reasoning"]?.string ?? ""
    }

    enum ContentPiece: Equatable {
        case text(String)
        case thinking(String)
    }

    /// `content` as a string, or the text of an array of parts: `text` parts, and Mistral's
    /// `{"type":"thinking","thinking":[{"type":"text","text":…}]}` parts as thinking.
    static func contentPieces(_ content: JSONValue?) -> [ContentPiece] {
        if let text = content?.string { return text.isEmpty ? [] : [.text(text)] }
        var pieces: [ContentPiece] = []
        for part in content?.array ?? [] {
            guard let part = part.object else { continue }
            switch part["type"]?.string {
            case "text", "output_text", nil:
                if let text = part["text"]?.string, !text.isEmpty { pieces.append(.text(text)) }
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

    /// Tool-call arguments as JSON text: OpenAI's string as is, an object (some servers) written as
    /// JSON, its members in their order and numbers as sent.
    static func arguments(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text): text
        case nil, .null: ""
        case let value?: String(decoding: value.bytes, as: UTF8.self)
        }
    }

    /// A `usage` object, read by `TokenUsage.openAI`.
    static func usage(_ value: JSONValue?) -> TokenUsage? {
        guard let value, value.object != nil else { return nil }
        return TokenUsage.openAI(value)
    }
}

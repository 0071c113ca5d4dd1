import GatewayCore

/// Reads a Gemini `GenerateContentResponse` (non-stream) into a `CanonicalResponse`. Only the first
/// candidate is read. `text` parts become text, `thought: true` parts thinking, `functionCall`
/// parts tool calls with synthesised ids `call_0`, `call_1`, … (Gemini mostly sends none). Other
/// parts (executable code, inline data) are skipped.
enum GeminiResponseDecoder {
    static func decode(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        guard let root = DialectJSON.object(body) else {
            if let error = GeminiErrorClassifier.errorObject(body) {
                throw GeminiErrorClassifier.classify(status: nil, error: error)
            }
            throw CanonicalError(.server, message: "The provider's answer is not a JSON object.")
        }
        if let error = root["error"] as? [String: Any] {
            throw GeminiErrorClassifier.classify(status: nil, error: error)
        }
        let candidate = (root["candidates"] as? [Any])?.first as? [String: Any]
        var content: [CanonicalContentPart] = []
        var toolCallCount = 0
        let parts = (candidate?["content"] as? [String: Any])?["parts"] as? [Any] ?? []
        for part in parts {
            guard let part = part as? [String: Any] else { continue }
            if let call = part["functionCall"] as? [String: Any] {
                let signature = part["thoughtSignature"] as? String
                content.append(.toolCall(toolCall(call, index: toolCallCount, signature: signature)))
                toolCallCount += 1
            } else if let text = part["text"] as? String {
                if DialectJSON.bool(part["thought"]) == true {
                    content.append(.thinking(text: text, signature: part["thoughtSignature"] as? String))
                } else {
                    content.append(.text(text))
                }
            }
        }
        var stopReason: CanonicalStopReason?
        if let reason = candidate?["finishReason"] as? String {
            stopReason = finishReason(reason, sawToolCall: toolCallCount > 0)
        } else if candidate == nil, (root["promptFeedback"] as? [String: Any])?["blockReason"] is String {
            stopReason = .contentFilter
        }
        return CanonicalResponse(
            id: root["responseId"] as? String ?? "",
            model: root["modelVersion"] as? String ?? "",
            content: content,
            stopReason: stopReason,
            usage: (root["usageMetadata"] as? [String: Any]).map { GeminiUsage($0).tokenUsage }
        )
    }

    /// A `functionCall` part as a tool call; its `thoughtSignature` rides in the id
    /// (`GeminiThoughtSignature`).
    static func toolCall(_ call: [String: Any], index: Int, signature: String?) -> CanonicalToolCall {
        CanonicalToolCall(
            id: GeminiThoughtSignature.id("call_\(index)", carrying: signature),
            name: call["name"] as? String ?? "",
            arguments: String(decoding: DialectJSON.bytes(call["args"] ?? [String: Any]()), as: UTF8.self)
        )
    }

    /// Gemini's `finishReason` (wire/README.md): a function call still finishes with `STOP`, so
    /// `STOP` (or an unknown reason) with a tool call reads as `toolCalls`.
    static func finishReason(_ value: String, sawToolCall: Bool) -> CanonicalStopReason {
        switch value {
        case "MAX_TOKENS": .length
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY": .contentFilter
        default: sawToolCall ? .toolCalls : .stop
        }
    }
}

/// Gemini's `usageMetadata`. `promptTokenCount` already includes `cachedContentTokenCount`;
/// `candidatesTokenCount` excludes `thoughtsTokenCount`, which is billed as output too.
struct GeminiUsage: Sendable, Equatable {
    var prompt = 0
    var candidates = 0
    var thoughts = 0
    var cached = 0

    init(_ usage: [String: Any]) {
        prompt = DialectJSON.int(usage["promptTokenCount"]) ?? 0
        candidates = DialectJSON.int(usage["candidatesTokenCount"]) ?? 0
        thoughts = DialectJSON.int(usage["thoughtsTokenCount"]) ?? 0
        cached = DialectJSON.int(usage["cachedContentTokenCount"]) ?? 0
    }

    var tokenUsage: TokenUsage {
        TokenUsage(
            promptTokens: prompt,
            completionTokens: TokenUsage.bounded(candidates) + TokenUsage.bounded(thoughts),
            cachedPromptTokens: cached,
            reasoningTokens: thoughts
        )
    }
}

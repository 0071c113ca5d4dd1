import GatewayCore

/// Reads a Gemini `GenerateContentResponse` (non-stream) into a `CanonicalResponse`. Only the first
/// candidate is read. `text` parts become text, `thought: true` parts thinking, `functionCall`
/// parts tool calls with synthesised ids `call_0`, `call_1`, … (Gemini mostly sends none). Other
/// parts (executable code, inline data) are skipped.
enum GeminiResponseDecoder {
    static func decode(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        guard let root = JSONScanner.parseObject(body) else {
            if let error = GeminiErrorClassifier.errorObject(body) {
                throw GeminiErrorClassifier.classify(status: nil, error: error)
            }
            throw CanonicalError(.server, message: "The provider's answer is not a JSON object.")
        }
        if let error = root["error"]?.object {
            throw GeminiErrorClassifier.classify(status: nil, error: error)
        }
        let candidate = root["candidates"]?[0]?.object
        var content: [CanonicalContentPart] = []
        var toolCallCount = 0
        let parts = candidate?["content"]?["parts"]?.array ?? []
        for part in parts {
            guard let part = part.object else { continue }
            if let call = part["functionCall"]?.object {
                let signature = part["thoughtSignature"]?.string
                content.append(.toolCall(toolCall(call, index: toolCallCount, signature: signature)))
                toolCallCount += 1
            } else if let text = part["text"]?.string {
                if part["thought"]?.bool == true {
                    content.append(.thinking(text: text, signature: part["thoughtSignature"]?.string))
                } else {
                    content.append(.text(text))
                }
            }
        }
        var stopReason: CanonicalStopReason?
        if let reason = candidate?["finishReason"]?.string {
            stopReason = finishReason(reason, sawToolCall: toolCallCount > 0)
        } else if candidate == nil, root["promptFeedback"]?["blockReason"]?.string != nil {
            stopReason = .contentFilter
        }
        return CanonicalResponse(
            id: root["responseId"]?.string ?? "",
            model: root["modelVersion"]?.string ?? "",
            content: content,
            stopReason: stopReason,
            usage: root["usageMetadata"]?.object.map { GeminiUsage($0).tokenUsage }
        )
    }

    /// A `functionCall` part as a tool call; its `thoughtSignature` rides in the id
    /// (`GeminiThoughtSignature`). `args` becomes the arguments as compact JSON text, members in
    /// their order and numbers as sent.
    static func toolCall(_ call: JSONObject, index: Int, signature: String?) -> CanonicalToolCall {
        CanonicalToolCall(
            id: GeminiThoughtSignature.id("call_\(index)", carrying: signature),
            name: call["name"]?.string ?? "",
            arguments: String(decoding: (call["args"] ?? .object(JSONObject())).bytes, as: UTF8.self)
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

    init(_ usage: JSONObject) {
        prompt = usage["promptTokenCount"]?.int ?? 0
        candidates = usage["candidatesTokenCount"]?.int ?? 0
        thoughts = usage["thoughtsTokenCount"]?.int ?? 0
        cached = usage["cachedContentTokenCount"]?.int ?? 0
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

import GatewayCore

/// Reads an Anthropic `message` body (non-stream) into a `CanonicalResponse`. Content blocks other
/// than `text`, `tool_use`, `thinking` and `redacted_thinking` (server tools, citations) are skipped.
enum AnthropicMessagesResponseDecoder {
    static func decode(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        guard let root = JSONScanner.parseObject(body) else {
            throw CanonicalError(.server, message: "The provider's answer is not a JSON object.")
        }
        if root["type"]?.string == "error" {
            throw AnthropicErrorClassifier.classify(status: nil, body: body)
        }
        var content: [CanonicalContentPart] = []
        for block in root["content"]?.array ?? [] {
            guard let block = block.object, let part = part(block) else { continue }
            content.append(part)
        }
        return CanonicalResponse(
            id: root["id"]?.string ?? "",
            model: root["model"]?.string ?? "",
            content: content,
            stopReason: root["stop_reason"]?.string.map(stopReason),
            stopSequence: root["stop_sequence"]?.string,
            usage: root["usage"]?.object.map { AnthropicUsage().merging($0).tokenUsage }
        )
    }

    private static func part(_ block: JSONObject) -> CanonicalContentPart? {
        switch block["type"]?.string {
        case "text": .text(block["text"]?.string ?? "")
        case "tool_use":
            .toolCall(
                CanonicalToolCall(
                    id: block["id"]?.string ?? "",
                    name: block["name"]?.string ?? "",
                    arguments: String(decoding: (block["input"] ?? .object(JSONObject())).bytes, as: UTF8.self)
                )
            )
        case "thinking": .thinking(text: block["thinking"]?.string ?? "", signature: block["signature"]?.string)
        case "redacted_thinking": .redactedThinking(data: block["data"]?.string ?? "")
        default: nil
        }
    }

    /// Anthropic's `stop_reason` (wire/README.md): `pause_turn` keeps its own reason; unknown
    /// values read as `stop`.
    static func stopReason(_ value: String) -> CanonicalStopReason {
        switch value {
        case "max_tokens", "model_context_window_exceeded": .length
        case "tool_use": .toolCalls
        case "refusal": .contentFilter
        case "pause_turn": .pauseTurn
        default: .stop
        }
    }
}

/// Anthropic's usage counters. `input_tokens` counts only uncached input, so the canonical prompt
/// count is `input + cache_read + cache_creation`; `output_tokens` already includes thinking.
struct AnthropicUsage: Sendable, Equatable {
    var input = 0
    var output = 0
    var cacheRead = 0
    var cacheCreation = 0

    /// Replaces the counters present in `usage` (stream counts are cumulative, never added).
    func merging(_ usage: JSONObject) -> AnthropicUsage {
        var merged = self
        if let value = usage["input_tokens"]?.int { merged.input = value }
        if let value = usage["output_tokens"]?.int { merged.output = value }
        if let value = usage["cache_read_input_tokens"]?.int { merged.cacheRead = value }
        if let value = usage["cache_creation_input_tokens"]?.int { merged.cacheCreation = value }
        return merged
    }

    var tokenUsage: TokenUsage {
        TokenUsage(
            // Each count is bounded before the sum, so a negative one cannot cancel the others.
            promptTokens: TokenUsage.bounded(input) + TokenUsage.bounded(cacheRead) + TokenUsage.bounded(cacheCreation),
            completionTokens: output,
            cachedPromptTokens: cacheRead,
            cacheCreationPromptTokens: cacheCreation
        )
    }
}

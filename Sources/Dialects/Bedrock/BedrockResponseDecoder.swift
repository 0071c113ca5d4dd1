import GatewayCore

/// Reads a Converse answer (docs/wire/bedrock.md §3): `output.message.content[]` in order —
/// `text`, `toolUse{toolUseId,name,input}` (the input object becomes the arguments' JSON text),
/// `reasoningContent.reasoningText{text,signature}` and `reasoningContent.redactedContent` — with
/// `stopReason` and `usage`. Bedrock gives no answer id.
///
/// Usage: `inputTokens` excludes the cache, so `prompt_tokens = inputTokens + cacheReadInputTokens
/// + cacheWriteInputTokens`, with the cache reads as cached tokens and the writes as cache creation.
/// `malformed_model_output` and `malformed_tool_use` are errors (retried), not answers.
enum BedrockResponseDecoder {
    static func decode(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        guard let root = JSONScanner.parseObject(body) else {
            throw CanonicalError(.server, message: "The provider's answer is not a JSON object.")
        }
        guard let message = root["output"]?["message"]?.object else {
            throw CanonicalError(.server, message: "The provider's answer has no output message.")
        }
        var content: [CanonicalContentPart] = []
        for block in message["content"]?.array ?? [] {
            guard let block = block.object else { continue }
            if let text = block["text"]?.string {
                content.append(.text(text))
            } else if let toolUse = block["toolUse"]?.object {
                content.append(
                    .toolCall(
                        CanonicalToolCall(
                            id: toolUse["toolUseId"]?.string ?? "", name: toolUse["name"]?.string ?? "",
                            arguments: String(
                                decoding: (toolUse["input"] ?? .object(JSONObject())).bytes, as: UTF8.self))))
            } else if let reasoning = block["reasoningContent"]?.object {
                if let text = reasoning["reasoningText"]?.object {
                    content.append(
                        .thinking(text: text["text"]?.string ?? "", signature: text["signature"]?.string))
                } else if let redacted = reasoning["redactedContent"]?.string {
                    content.append(.redactedThinking(data: redacted))
                }
            }
        }
        let reason = root["stopReason"]?.string ?? "end_turn"
        guard let stopReason = stopReason(reason) else { throw malformedOutput(reason) }
        return CanonicalResponse(
            id: "", model: "", content: content, stopReason: stopReason,
            usage: root["usage"]?.object.map(usage))
    }

    /// Converse `stopReason` → canonical; nil for the `malformed_*` reasons (errors).
    static func stopReason(_ reason: String) -> CanonicalStopReason? {
        switch reason {
        case "end_turn", "stop_sequence": .stop
        case "max_tokens", "model_context_window_exceeded": .length
        case "tool_use": .toolCalls
        case "guardrail_intervened", "content_filtered": .contentFilter
        case "malformed_model_output", "malformed_tool_use": nil
        default: .stop
        }
    }

    static func malformedOutput(_ reason: String) -> CanonicalError {
        CanonicalError(.server, message: "The model produced malformed output (\(reason)).", upstreamType: reason)
    }

    /// `TokenUsage` from Converse `usage` (cache counts are outside `inputTokens`).
    static func usage(_ usage: JSONObject) -> TokenUsage {
        let input = usage["inputTokens"]?.int ?? 0
        let cacheRead = usage["cacheReadInputTokens"]?.int ?? 0
        let cacheWrite = usage["cacheWriteInputTokens"]?.int ?? 0
        let prompt = TokenUsage.bounded(input) + TokenUsage.bounded(cacheRead) + TokenUsage.bounded(cacheWrite)
        return TokenUsage(
            promptTokens: prompt, completionTokens: usage["outputTokens"]?.int ?? 0,
            cachedPromptTokens: cacheRead, cacheCreationPromptTokens: cacheWrite)
    }
}

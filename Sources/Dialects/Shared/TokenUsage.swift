import GatewayCore

extension TokenUsage {
    /// Reads OpenAI's `usage` object (`prompt_tokens`, `completion_tokens`,
    /// `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`) from the
    /// JSON object at `range`. Cached tokens are already inside `prompt_tokens` and reasoning
    /// tokens inside `completion_tokens`; they are not added again.
    public static func openAI(_ bytes: [UInt8], at range: Range<Int>) -> TokenUsage? {
        (try? JSONScanner.parse(bytes, in: range)).flatMap(openAI)
    }

    /// Reads OpenAI's `usage` object (see `openAI(_:at:)`); nil when it is not an object with
    /// integer `prompt_tokens`.
    public static func openAI(_ usage: JSONValue) -> TokenUsage? {
        guard let prompt = usage["prompt_tokens"]?.int else { return nil }
        return TokenUsage(
            promptTokens: prompt,
            completionTokens: usage["completion_tokens"]?.int ?? 0,
            cachedPromptTokens: usage["prompt_tokens_details"]?["cached_tokens"]?.int ?? 0,
            reasoningTokens: usage["completion_tokens_details"]?["reasoning_tokens"]?.int ?? 0
        )
    }
}

import GatewayCore

extension TokenUsage {
    /// Reads OpenAI's `usage` object (`prompt_tokens`, `completion_tokens`,
    /// `prompt_tokens_details.cached_tokens`, `completion_tokens_details.reasoning_tokens`) from the
    /// JSON object at `range`. Cached tokens are already inside `prompt_tokens` and reasoning
    /// tokens inside `completion_tokens`; they are not added again.
    public static func openAI(_ bytes: [UInt8], at range: Range<Int>) -> TokenUsage? {
        guard let usage = try? JSONScanner.scanObject(bytes, in: range) else { return nil }
        func int(_ scan: JSONObjectScan, _ name: String) -> Int? {
            scan.member(name).flatMap { JSONScanner.integer(bytes, at: $0.valueRange) }
        }
        func nested(_ name: String) -> JSONObjectScan? {
            guard let member = usage.member(name), member.kind == .object else { return nil }
            return try? JSONScanner.scanObject(bytes, in: member.valueRange)
        }
        guard let prompt = int(usage, "prompt_tokens") else { return nil }
        return TokenUsage(
            promptTokens: prompt,
            completionTokens: int(usage, "completion_tokens") ?? 0,
            cachedPromptTokens: nested("prompt_tokens_details").flatMap { int($0, "cached_tokens") } ?? 0,
            reasoningTokens: nested("completion_tokens_details").flatMap { int($0, "reasoning_tokens") } ?? 0
        )
    }
}

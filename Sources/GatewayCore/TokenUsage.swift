/// Token counts of one answer, in OpenAI's convention: cached prompt tokens are part of
/// `promptTokens`, reasoning tokens part of `completionTokens`. Every dialect converts to this.
///
/// Counts come from providers and are not trusted: each is clamped into `0...maximumCount` when
/// the value is made, so a negative count never becomes a refund and a count near `Int.max` never
/// overflows a sum or a cost.
public struct TokenUsage: Sendable, Equatable {
    /// The largest count kept (2^31 − 1, far above any context window).
    public static let maximumCount = Int(Int32.max)

    public var promptTokens: Int
    public var completionTokens: Int
    public var cachedPromptTokens: Int
    public var reasoningTokens: Int
    /// Prompt tokens written to the provider's prompt cache (Anthropic `cache_creation_input_tokens`);
    /// part of `promptTokens`, like `cachedPromptTokens`.
    public var cacheCreationPromptTokens: Int

    public init(
        promptTokens: Int,
        completionTokens: Int,
        cachedPromptTokens: Int = 0,
        reasoningTokens: Int = 0,
        cacheCreationPromptTokens: Int = 0
    ) {
        self.promptTokens = Self.bounded(promptTokens)
        self.completionTokens = Self.bounded(completionTokens)
        self.cachedPromptTokens = Self.bounded(cachedPromptTokens)
        self.reasoningTokens = Self.bounded(reasoningTokens)
        self.cacheCreationPromptTokens = Self.bounded(cacheCreationPromptTokens)
    }

    /// `count` clamped into `0...maximumCount`.
    public static func bounded(_ count: Int) -> Int {
        min(max(count, 0), maximumCount)
    }

    /// Prompt plus completion tokens; saturates rather than overflowing if a field was set directly.
    public var totalTokens: Int {
        let (sum, overflow) = promptTokens.addingReportingOverflow(completionTokens)
        return overflow ? Int.max : sum
    }
}

/// Token counts of one answer, in OpenAI's convention: cached prompt tokens are part of
/// `promptTokens`, reasoning tokens part of `completionTokens`. Every dialect converts to this.
public struct TokenUsage: Sendable, Equatable {
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
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.reasoningTokens = reasoningTokens
        self.cacheCreationPromptTokens = cacheCreationPromptTokens
    }

    public var totalTokens: Int { max(0, promptTokens).addingSaturating(max(0, completionTokens)) }
}

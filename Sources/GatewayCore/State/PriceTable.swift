/// USD prices per million tokens for one model.
public struct ModelPrice: Sendable, Equatable {
    public var input: Double
    /// Prompt tokens served from the provider's prompt cache.
    public var cachedInput: Double
    public var output: Double

    public init(input: Double, cachedInput: Double? = nil, output: Double) {
        self.input = input
        self.cachedInput = cachedInput ?? input
        self.output = output
    }

    /// The cost of `usage` (OpenAI convention: cached tokens are inside prompt tokens).
    public func cost(of usage: TokenUsage) -> Double {
        let cached = min(usage.cachedPromptTokens, usage.promptTokens)
        let uncached = usage.promptTokens - cached
        return (Double(uncached) * input + Double(cached) * cachedInput + Double(usage.completionTokens) * output)
            / 1_000_000
    }
}

/// Published list prices of common models (USD per million tokens, standard tier, short-context
/// rates), shipped with the gateway and overridable per target in the configuration. Model names
/// match exactly or by their dated snapshots: `gpt-4o-mini-2024-07-18` is priced as
/// `gpt-4o-mini` (the longest listed name that the model starts with, followed by `-`).
public struct PriceTable: Sendable {
    private let prices: [String: ModelPrice]

    public init(_ prices: [String: ModelPrice] = PriceTable.published) {
        self.prices = prices
    }

    public func price(for model: String) -> ModelPrice? {
        if let exact = prices[model] { return exact }
        var best: (name: String, price: ModelPrice)?
        for (name, price) in prices where model.hasPrefix(name + "-") {
            if best == nil || name.count > best!.name.count { best = (name, price) }
        }
        return best?.price
    }

    /// List prices as published by the providers (checked 2026-11).
    public static let published: [String: ModelPrice] = [
        // OpenAI
        "gpt-5": .init(input: 1.25, cachedInput: 0.125, output: 10.00),
        "gpt-5-mini": .init(input: 0.25, cachedInput: 0.025, output: 2.00),
        "gpt-5-nano": .init(input: 0.05, cachedInput: 0.005, output: 0.40),
        "gpt-4.1": .init(input: 2.00, cachedInput: 0.50, output: 8.00),
        "gpt-4.1-mini": .init(input: 0.40, cachedInput: 0.10, output: 1.60),
        "gpt-4.1-nano": .init(input: 0.10, cachedInput: 0.025, output: 0.40),
        "gpt-4o": .init(input: 2.50, cachedInput: 1.25, output: 10.00),
        "gpt-4o-mini": .init(input: 0.15, cachedInput: 0.075, output: 0.60),
        "o1": .init(input: 15.00, cachedInput: 7.50, output: 60.00),
        "o3": .init(input: 2.00, cachedInput: 0.50, output: 8.00),
        "o3-mini": .init(input: 1.10, cachedInput: 0.55, output: 4.40),
        "o4-mini": .init(input: 1.10, cachedInput: 0.275, output: 4.40),
        "text-embedding-3-small": .init(input: 0.02, output: 0),
        "text-embedding-3-large": .init(input: 0.13, output: 0),
        "text-embedding-ada-002": .init(input: 0.10, output: 0),
        // Anthropic (cached = cache read; cache writes are priced when the Anthropic dialect lands)
        "claude-opus-4-1": .init(input: 15.00, cachedInput: 1.50, output: 75.00),
        "claude-opus-4": .init(input: 15.00, cachedInput: 1.50, output: 75.00),
        "claude-sonnet-4-5": .init(input: 3.00, cachedInput: 0.30, output: 15.00),
        "claude-sonnet-4": .init(input: 3.00, cachedInput: 0.30, output: 15.00),
        "claude-3-7-sonnet": .init(input: 3.00, cachedInput: 0.30, output: 15.00),
        "claude-haiku-4-5": .init(input: 1.00, cachedInput: 0.10, output: 5.00),
        "claude-3-5-haiku": .init(input: 0.80, cachedInput: 0.08, output: 4.00),
        // Google
        "gemini-2.5-pro": .init(input: 1.25, cachedInput: 0.31, output: 10.00),
        "gemini-2.5-flash": .init(input: 0.30, cachedInput: 0.075, output: 2.50),
        "gemini-2.5-flash-lite": .init(input: 0.10, cachedInput: 0.025, output: 0.40),
        "gemini-2.0-flash": .init(input: 0.10, cachedInput: 0.025, output: 0.40),
        // Others (OpenAI-compatible)
        "deepseek-chat": .init(input: 0.27, cachedInput: 0.07, output: 1.10),
        "deepseek-reasoner": .init(input: 0.55, cachedInput: 0.14, output: 2.19),
        "mistral-large-latest": .init(input: 2.00, output: 6.00),
        "llama-3.3-70b-versatile": .init(input: 0.59, output: 0.79),
    ]
}

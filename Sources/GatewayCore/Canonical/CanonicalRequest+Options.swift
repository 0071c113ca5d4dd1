/// Sampling and length controls. Nil or empty means "the provider's default".
public struct CanonicalSampling: Sendable, Equatable {
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var stopSequences: [String]
    public var maxOutputTokens: Int?
    public var seed: Int?
    public var presencePenalty: Double?
    public var frequencyPenalty: Double?
    /// Number of choices (OpenAI `n`); nil means one.
    public var choiceCount: Int?

    public init(
        temperature: Double? = nil,
        topP: Double? = nil,
        topK: Int? = nil,
        stopSequences: [String] = [],
        maxOutputTokens: Int? = nil,
        seed: Int? = nil,
        presencePenalty: Double? = nil,
        frequencyPenalty: Double? = nil,
        choiceCount: Int? = nil
    ) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.stopSequences = stopSequences
        self.maxOutputTokens = maxOutputTokens
        self.seed = seed
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.choiceCount = choiceCount
    }
}

public enum CanonicalResponseFormat: Sendable, Equatable {
    case text
    /// Any JSON object.
    case jsonObject
    /// JSON matching `schema` (JSON bytes).
    case jsonSchema(name: String, schema: [UInt8]?, strict: Bool?)
}

/// Extended reasoning the client asked for.
public enum CanonicalThinking: Sendable, Equatable {
    case disabled
    /// Reasoning with a token budget (Anthropic `budget_tokens`).
    case budget(Int)
    /// Reasoning by effort level (OpenAI `reasoning_effort`: `minimal`, `low`, `medium`, `high`).
    case effort(String)
}

/// `cache.semantic`: answers for prompts that mean the same as an earlier one (docs/configuration.md,
/// "Semantic cache"). Looked up only on an exact-cache miss; a model's `semantic_cache` overrides
/// `enabled`.
public struct SemanticCacheConfiguration: Sendable, Equatable {
    /// What part of a chat request is embedded.
    public enum Embed: String, Sendable, CaseIterable {
        /// The text of the last user message; everything before it is part of the namespace.
        case lastUser = "last_user"
        /// The text of every user and assistant message; system and developer messages are part
        /// of the namespace.
        case conversation
    }

    public var enabled: Bool
    /// One of llmgw's own models (`models[].name`), asked through the same routing, providers,
    /// keys and failover as any request.
    public var embeddingModel: String?
    /// Least cosine similarity (0 exclusive, 1 inclusive) between the embedded text and a stored
    /// one for a hit.
    public var threshold: Double
    /// Lifetime of an entry; nil uses `cache.ttl`. The answer itself lives in the exact cache, so
    /// the shorter of the two applies.
    public var ttl: Duration?
    /// Entries kept across every namespace; the oldest is evicted past it.
    public var maxEntries: Int
    public var embed: Embed
    /// Time allowed for the embedding call; past it the request proceeds as a miss.
    public var budget: Duration
    /// Charge the embedding's usage and cost to the caller (and its team) whose prompt it embeds;
    /// off, they are recorded under `internal:semantic_cache`.
    public var chargeCaller = false

    public init(
        enabled: Bool = false,
        embeddingModel: String? = nil,
        threshold: Double = 0.92,
        ttl: Duration? = nil,
        maxEntries: Int = 10_000,
        embed: Embed = .lastUser,
        budget: Duration = .milliseconds(150)
    ) {
        self.enabled = enabled
        self.embeddingModel = embeddingModel
        self.threshold = threshold
        self.ttl = ttl
        self.maxEntries = maxEntries
        self.embed = embed
        self.budget = budget
    }

    /// Largest `max_entries` accepted (the exact search is documented up to this size).
    public static let maximumEntries = 1_000_000
}

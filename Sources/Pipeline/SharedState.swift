import GatewayCore

/// The shared-state facilities the pipeline uses (LMDB in production, memory in tests).
public struct SharedState: Sendable {
    public var keys: any KeyStore
    public var admission: any AdmissionStore
    /// The response cache; nil disables caching whatever the configuration says.
    public var cache: (any ResponseCacheBackend)?
    /// Circuit breakers per target; nil disables them.
    public var circuits: (any CircuitStore)?
    /// Latency and in-flight figures for the balancing strategies; nil disables them.
    public var stats: (any TargetStatsStore)?
    /// Stored Responses answers (`previous_response_id`, `GET /v1/responses/{id}`); nil keeps none.
    public var responses: (any ResponseCacheBackend)?
    /// The semantic cache's vectors (`cache.semantic`); nil disables it.
    public var semantic: (any SemanticIndexBackend)?
    /// What to do with a request when the state cannot be read or written: admit it (`allow`,
    /// the default: an outage of the state file must not become an outage of the gateway) or
    /// refuse it with 503 (`deny`). Authentication always fails closed.
    public var onStoreError: StoreErrorPolicy

    public enum StoreErrorPolicy: String, Sendable {
        case allow, deny
    }

    public init(
        keys: any KeyStore,
        admission: any AdmissionStore,
        cache: (any ResponseCacheBackend)? = nil,
        circuits: (any CircuitStore)? = nil,
        stats: (any TargetStatsStore)? = nil,
        responses: (any ResponseCacheBackend)? = nil,
        semantic: (any SemanticIndexBackend)? = nil,
        onStoreError: StoreErrorPolicy = .allow
    ) {
        self.keys = keys
        self.admission = admission
        self.cache = cache
        self.circuits = circuits
        self.stats = stats
        self.responses = responses
        self.semantic = semantic
        self.onStoreError = onStoreError
    }
}

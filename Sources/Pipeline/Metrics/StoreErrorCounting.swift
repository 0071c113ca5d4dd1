import GatewayCore

/// `llmgw_store_errors_total{op}`: what the pipeline asked of the shared state and could not get.
/// A fixed set, made at start so every series reads 0 rather than absent.
enum StoreOperation: String, CaseIterable, Sendable {
    case keyRead = "key_read"
    case keyWrite = "key_write"
    case admit
    case settle
    case usageRead = "usage_read"
    case cacheRead = "cache_read"
    case cacheStore = "cache_store"
    case circuitRead = "circuit_read"
    case circuitWrite = "circuit_write"
    case statsRead = "stats_read"
    case statsWrite = "stats_write"
    case responseRead = "response_read"
    case responseWrite = "response_write"
}

extension SharedState {
    /// The same stores, each error they throw counted in `metrics` before it reaches the stage
    /// that handles it (fails open or closed as before: counting changes no decision).
    func countingErrors(in metrics: GatewayMetrics) -> SharedState {
        let errors = StoreErrorCounter(metrics: metrics)
        var counted = self
        counted.keys = CountingKeyStore(base: keys, errors: errors)
        counted.admission = CountingAdmissionStore(base: admission, errors: errors)
        counted.cache = cache.map { CountingResponseCache(base: $0, errors: errors) }
        counted.circuits = circuits.map { CountingCircuitStore(base: $0, errors: errors) }
        counted.stats = stats.map { CountingTargetStatsStore(base: $0, errors: errors) }
        counted.responses = responses.map {
            CountingResponseCache(base: $0, errors: errors, read: .responseRead, write: .responseWrite)
        }
        counted.semantic = semantic.map { CountingSemanticIndex(base: $0, errors: errors) }
        return counted
    }
}

struct StoreErrorCounter: Sendable {
    let metrics: GatewayMetrics

    func run<Value>(_ operation: StoreOperation, _ body: () async throws -> Value) async throws -> Value {
        do {
            return try await body()
        } catch {
            metrics.storeFailed(operation)
            throw error
        }
    }
}

struct CountingKeyStore: KeyStore {
    let base: any KeyStore
    let errors: StoreErrorCounter

    func key(publicID: String) async throws -> VirtualKeyRecord? {
        try await errors.run(.keyRead) { try await base.key(publicID: publicID) }
    }
    func team(named name: String) async throws -> TeamRecord? {
        try await errors.run(.keyRead) { try await base.team(named: name) }
    }
    func insert(_ record: VirtualKeyRecord) async throws {
        try await errors.run(.keyWrite) { try await base.insert(record) }
    }
    func allKeys() async throws -> [VirtualKeyRecord] {
        try await errors.run(.keyRead) { try await base.allKeys() }
    }
    func revoke(publicID: String, atMillis: Int64) async throws -> Bool {
        try await errors.run(.keyWrite) { try await base.revoke(publicID: publicID, atMillis: atMillis) }
    }
    func setTeam(_ team: TeamRecord) async throws {
        try await errors.run(.keyWrite) { try await base.setTeam(team) }
    }
}

struct CountingAdmissionStore: AdmissionStore {
    let base: any AdmissionStore
    let errors: StoreErrorCounter

    func admit(_ request: AdmissionRequest) async throws -> AdmissionDecision {
        try await errors.run(.admit) { try await base.admit(request) }
    }
    func settle(_ ticket: AdmissionTicket?, charge: UsageCharge) async throws {
        try await errors.run(.settle) { try await base.settle(ticket, charge: charge) }
    }
    func usage(fromDay: String?) async throws -> [UsageLine] {
        try await errors.run(.usageRead) { try await base.usage(fromDay: fromDay) }
    }
    func reconcile(_ ticket: AdmissionTicket, actualTokens: Int, nowMillis: Int64) async throws {
        try await errors.run(.settle) {
            try await base.reconcile(ticket, actualTokens: actualTokens, nowMillis: nowMillis)
        }
    }
    func finish(quotas: [QuotaReconciliation], caller: AdmissionTicket?, charge: UsageCharge?) async throws {
        try await errors.run(.settle) { try await base.finish(quotas: quotas, caller: caller, charge: charge) }
    }
}

/// The response cache, or (with the `response_*` operations) the store of Responses answers.
struct CountingResponseCache: ResponseCacheBackend {
    let base: any ResponseCacheBackend
    let errors: StoreErrorCounter
    var read = StoreOperation.cacheRead
    var write = StoreOperation.cacheStore

    func lookup(_ key: CacheKey, nowMillis: Int64) async throws -> CachedResponse? {
        try await errors.run(read) { try await base.lookup(key, nowMillis: nowMillis) }
    }
    func store(_ key: CacheKey, _ response: CachedResponse) async throws {
        try await errors.run(write) { try await base.store(key, response) }
    }
    func remove(_ key: CacheKey) async throws -> Bool {
        try await errors.run(write) { try await base.remove(key) }
    }
    func sweepExpired(nowMillis: Int64, limit: Int) async throws -> Int {
        try await errors.run(write) { try await base.sweepExpired(nowMillis: nowMillis, limit: limit) }
    }
    func usedBytes() async throws -> Int {
        try await errors.run(read) { try await base.usedBytes() }
    }
}

/// The semantic cache's vectors, counted as the cache's reads and stores.
struct CountingSemanticIndex: SemanticIndexBackend {
    let base: any SemanticIndexBackend
    let errors: StoreErrorCounter

    func nearest(
        _ vector: SemanticVector, namespace: CacheKey, threshold: Float, limit: Int, nowMillis: Int64
    ) async throws -> [SemanticMatch] {
        try await errors.run(.cacheRead) {
            try await base.nearest(
                vector, namespace: namespace, threshold: threshold, limit: limit, nowMillis: nowMillis)
        }
    }
    func insert(_ entry: SemanticEntry, namespace: CacheKey, maxEntries: Int) async throws {
        try await errors.run(.cacheStore) { try await base.insert(entry, namespace: namespace, maxEntries: maxEntries) }
    }
    func remove(namespace: CacheKey, answerKey: CacheKey) async throws -> Bool {
        try await errors.run(.cacheStore) { try await base.remove(namespace: namespace, answerKey: answerKey) }
    }
    func sweepExpired(nowMillis: Int64, limit: Int) async throws -> Int {
        try await errors.run(.cacheStore) { try await base.sweepExpired(nowMillis: nowMillis, limit: limit) }
    }
    func entryCount() async throws -> Int {
        try await errors.run(.cacheRead) { try await base.entryCount() }
    }
}

struct CountingCircuitStore: CircuitStore {
    let base: any CircuitStore
    let errors: StoreErrorCounter

    func check(_ target: String, policy: CircuitPolicy, nowMillis: Int64) async throws -> CircuitBreaker.Decision {
        try await errors.run(.circuitWrite) { try await base.check(target, policy: policy, nowMillis: nowMillis) }
    }
    func record(_ target: String, success: Bool, policy: CircuitPolicy, nowMillis: Int64) async throws {
        try await errors.run(.circuitWrite) {
            try await base.record(target, success: success, policy: policy, nowMillis: nowMillis)
        }
    }
    func state(of target: String) async throws -> CircuitState {
        try await errors.run(.circuitRead) { try await base.state(of: target) }
    }
    func states(of targets: [String]) async throws -> [CircuitState] {
        try await errors.run(.circuitRead) { try await base.states(of: targets) }
    }
}

struct CountingTargetStatsStore: TargetStatsStore {
    let base: any TargetStatsStore
    let errors: StoreErrorCounter

    func stats(for targets: [String]) async throws -> [TargetStats] {
        try await errors.run(.statsRead) { try await base.stats(for: targets) }
    }
    func recordLatency(_ target: String, micros: Int64) async throws {
        try await errors.run(.statsWrite) { try await base.recordLatency(target, micros: micros) }
    }
    func adjustInFlight(_ target: String, by delta: Int) async throws {
        try await errors.run(.statsWrite) { try await base.adjustInFlight(target, by: delta) }
    }
}

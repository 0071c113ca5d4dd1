import GatewayCore

/// Circuits in the shared `health` database (`cb/<provider>/<model>` → five little-endian Int64s):
/// when one sidecar trips a target's circuit, every sidecar on the host skips the target, and
/// exactly one of them gets the half-open probe.
public final class LMDBCircuitStore: CircuitStore {
    private let executor: LMDBExecutor
    private let health: LMDBDatabase

    public init(executor: LMDBExecutor) {
        self.executor = executor
        self.health = executor.environment.database("health")
    }

    public func check(_ target: String, policy: CircuitPolicy, nowMillis: Int64) async throws
        -> CircuitBreaker.Decision
    {
        // Closed circuits are the common case: decide on a read transaction, write only to claim a probe.
        let current = try await state(of: target).clamped(nowMillis: nowMillis, policy: policy)
        guard current.openUntilMillis != 0, nowMillis >= current.openUntilMillis else {
            return CircuitBreaker.check(current, policy: policy, nowMillis: nowMillis).0
        }
        return try await executor.write { [health] transaction in
            let key = Self.key(target)
            let stored =
                try transaction.get(health, key).flatMap { CircuitState(values: Int64.unpack($0)) } ?? CircuitState()
            let (decision, next) = CircuitBreaker.check(stored, policy: policy, nowMillis: nowMillis)
            if next != stored { try transaction.put(health, key, next.values.flatMap(\.littleEndianBytes)) }
            return decision
        }
    }

    public func record(_ target: String, success: Bool, policy: CircuitPolicy, nowMillis: Int64) async throws {
        if success, try await state(of: target) == CircuitState() { return }  // nothing to reset
        try await executor.write { [health] transaction in
            let key = Self.key(target)
            let stored =
                try transaction.get(health, key).flatMap { CircuitState(values: Int64.unpack($0)) } ?? CircuitState()
            let next = CircuitBreaker.record(stored, success: success, policy: policy, nowMillis: nowMillis)
            if next != stored { try transaction.put(health, key, next.values.flatMap(\.littleEndianBytes)) }
        }
    }

    public func state(of target: String) async throws -> CircuitState {
        try await executor.read { [health] transaction in
            try transaction.get(health, Self.key(target)).flatMap { CircuitState(values: Int64.unpack($0)) }
                ?? CircuitState()
        }
    }

    public func states(of targets: [String]) async throws -> [CircuitState] {
        try await executor.read { [health] transaction in
            try targets.map { target in
                try transaction.get(health, Self.key(target)).flatMap { CircuitState(values: Int64.unpack($0)) }
                    ?? CircuitState()
            }
        }
    }

    /// Every stored circuit (`provider/model` → state), in key order, from one read transaction
    /// (for `llmgw status`). A target never failed has no entry: it is closed.
    public func allStates() async throws -> [(target: String, state: CircuitState)] {
        try await executor.read { [health] transaction in
            var states: [(target: String, state: CircuitState)] = []
            let prefix = Array("cb/".utf8)
            try transaction.forEach(health, from: prefix) { key, value in
                guard key.starts(with: prefix) else { return false }
                if let state = CircuitState(values: Int64.unpack(value)) {
                    states.append((String(decoding: key.dropFirst(prefix.count), as: UTF8.self), state))
                }
                return true
            }
            return states
        }
    }

    static func key(_ target: String) -> [UInt8] { Array("cb/\(target)".utf8) }
}

import GatewayCore

/// Circuits in the shared `health` database (`cb/<provider>/<model>` → five little-endian Int64s):
/// when one sidecar trips a target's circuit, every sidecar on the host skips the target, and
/// exactly one of them gets the half-open probe.
public final class LMDBCircuitStore: CircuitStore {
    private let environment: LMDBEnvironment
    private let health: LMDBDatabase

    public init(environment: LMDBEnvironment) {
        self.environment = environment
        self.health = environment.database("health")
    }

    public func check(_ target: String, policy: CircuitPolicy, nowMillis: Int64) throws -> CircuitBreaker.Decision {
        // Closed circuits are the common case: decide on a read transaction, write only to claim a probe.
        let current = try state(of: target)
        guard current.openUntilMillis != 0, nowMillis >= current.openUntilMillis else {
            return CircuitBreaker.check(current, policy: policy, nowMillis: nowMillis).0
        }
        return try environment.withWriteTransaction { transaction in
            let key = Self.key(target)
            let stored =
                try transaction.get(health, key).flatMap { CircuitState(values: Int64.unpack($0)) } ?? CircuitState()
            let (decision, next) = CircuitBreaker.check(stored, policy: policy, nowMillis: nowMillis)
            if next != stored { try transaction.put(health, key, next.values.flatMap(\.littleEndianBytes)) }
            return decision
        }
    }

    public func record(_ target: String, success: Bool, policy: CircuitPolicy, nowMillis: Int64) throws {
        if success, try state(of: target) == CircuitState() { return }  // nothing to reset
        try environment.withWriteTransaction { transaction in
            let key = Self.key(target)
            let stored =
                try transaction.get(health, key).flatMap { CircuitState(values: Int64.unpack($0)) } ?? CircuitState()
            let next = CircuitBreaker.record(stored, success: success, policy: policy, nowMillis: nowMillis)
            if next != stored { try transaction.put(health, key, next.values.flatMap(\.littleEndianBytes)) }
        }
    }

    public func state(of target: String) throws -> CircuitState {
        try environment.withReadTransaction { transaction in
            try transaction.get(health, Self.key(target)).flatMap { CircuitState(values: Int64.unpack($0)) }
                ?? CircuitState()
        }
    }

    static func key(_ target: String) -> [UInt8] { Array("cb/\(target)".utf8) }
}

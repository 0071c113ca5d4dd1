import GatewayCore

/// Strategy statistics shared by the host's sidecars, in the `health` database:
/// `lat/<target>` holds the EWMA of time to first byte (µs); `busy/<target>/<pid>` the requests
/// process `pid` has in flight to the target.
///
/// Liveness is LMDB's own: a count counts while its PID holds its reader-lock byte of the
/// environment (`LMDBEnvironment.isOpenerAlive`), never `kill(pid, 0)`, which cannot see other
/// PID namespaces. The environment guarantees that no two live openers share a PID, so the
/// leftovers of our PID found at start are a dead process's and are cleared.
public final class LMDBTargetStatsStore: TargetStatsStore {
    private let executor: LMDBExecutor
    private let health: LMDBDatabase
    private let pid: Int32

    public init(executor: LMDBExecutor) async throws {
        self.executor = executor
        self.health = executor.environment.database("health")
        self.pid = executor.environment.pid
        try await executor.write { [health, pid] transaction in
            var stale: [[UInt8]] = []
            let prefix = Array("busy/".utf8)
            let suffix = Array("/\(pid)".utf8)
            try transaction.forEach(health, from: prefix) { key, _ in
                guard key.starts(with: prefix) else { return false }
                if key.count > suffix.count && Array(key.suffix(suffix.count)) == suffix { stale.append(key) }
                return true
            }
            for key in stale { try transaction.delete(health, key) }
        }
    }

    public func stats(for targets: [String]) async throws -> [TargetStats] {
        let environment = executor.environment
        return try await executor.read { [health] transaction in
            try targets.map { target in
                let latency = try transaction.get(health, Array("lat/\(target)".utf8)).flatMap(
                    Int64.init(littleEndianBytes:))
                var inFlight = 0
                let prefix = Array("busy/\(target)/".utf8)
                try transaction.forEach(health, from: prefix) { key, value in
                    guard key.starts(with: prefix) else { return false }
                    let owner = Int32(String(decoding: key.dropFirst(prefix.count), as: UTF8.self)) ?? 0
                    if environment.isOpenerAlive(owner), let count = Int64(littleEndianBytes: value) {
                        inFlight = inFlight.addingSaturating(Int(max(0, count)))
                    }
                    return true
                }
                return TargetStats(latencyMicros: latency, inFlight: inFlight)
            }
        }
    }

    public func recordLatency(_ target: String, micros: Int64) async throws {
        try await executor.write { [health] transaction in
            let key = Array("lat/\(target)".utf8)
            let previous = try transaction.get(health, key).flatMap(Int64.init(littleEndianBytes:))
            try transaction.put(health, key, TargetOrdering.ewma(previous, micros).littleEndianBytes)
        }
    }

    public func adjustInFlight(_ target: String, by delta: Int) async throws {
        try await executor.writeDetached { [health, pid] transaction in
            let key = Array("busy/\(target)/\(pid)".utf8)
            let count = (try transaction.get(health, key).flatMap(Int64.init(littleEndianBytes:)) ?? 0)
                .addingSaturating(Int64(delta))
            if count <= 0 {
                try transaction.delete(health, key)
            } else {
                try transaction.put(health, key, count.littleEndianBytes)
            }
        }
    }
}

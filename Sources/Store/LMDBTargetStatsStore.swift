import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// Strategy statistics shared by the host's sidecars, in the `health` database:
/// `lat/<target>` holds the EWMA of time to first byte (µs); `busy/<target>/<pid>` the requests
/// process `pid` has in flight to the target. Counts of processes that no longer exist are
/// ignored when read (a crashed sidecar's in-flight requests never stick), and a process clears
/// its own pid's leftovers when it opens the store (a reused pid starts from zero).
public final class LMDBTargetStatsStore: TargetStatsStore {
    private let environment: LMDBEnvironment
    private let health: LMDBDatabase
    private let pid = getpid()

    public init(environment: LMDBEnvironment) throws {
        self.environment = environment
        self.health = environment.database("health")
        try environment.withWriteTransaction { transaction in
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

    public func stats(for targets: [String]) throws -> [TargetStats] {
        try environment.withReadTransaction { transaction in
            try targets.map { target in
                let latency = try transaction.get(health, Array("lat/\(target)".utf8)).flatMap(
                    Int64.init(littleEndianBytes:))
                var inFlight = 0
                let prefix = Array("busy/\(target)/".utf8)
                try transaction.forEach(health, from: prefix) { key, value in
                    guard key.starts(with: prefix) else { return false }
                    let owner = Int32(String(decoding: key.dropFirst(prefix.count), as: UTF8.self)) ?? 0
                    if Self.isAlive(owner), let count = Int64(littleEndianBytes: value) { inFlight += Int(count) }
                    return true
                }
                return TargetStats(latencyMicros: latency, inFlight: inFlight)
            }
        }
    }

    public func recordLatency(_ target: String, micros: Int64) throws {
        try environment.withWriteTransaction { transaction in
            let key = Array("lat/\(target)".utf8)
            let previous = try transaction.get(health, key).flatMap(Int64.init(littleEndianBytes:))
            try transaction.put(health, key, TargetOrdering.ewma(previous, micros).littleEndianBytes)
        }
    }

    public func adjustInFlight(_ target: String, by delta: Int) throws {
        try environment.withWriteTransaction { transaction in
            let key = Array("busy/\(target)/\(pid)".utf8)
            let count = (try transaction.get(health, key).flatMap(Int64.init(littleEndianBytes:)) ?? 0) + Int64(delta)
            if count <= 0 {
                try transaction.delete(health, key)
            } else {
                try transaction.put(health, key, count.littleEndianBytes)
            }
        }
    }

    /// True when a process with this pid exists (EPERM: exists, owned by someone else).
    static func isAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}

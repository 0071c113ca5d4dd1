#if canImport(Glibc)
    import Glibc
#endif

/// How a model orders its own targets for each request (`strategy:`). Fallback models' targets
/// always come after, in their own order.
public enum BalancingStrategy: String, Sendable, CaseIterable {
    /// As listed (the default).
    case priority
    /// A random order drawn by `weight` (a target with twice the weight comes first twice as often).
    case weighted
    /// Fastest first: exponentially weighted average of time to first byte, shared by the host.
    case leastLatency = "least-latency"
    /// Fewest requests in flight first, counted across the host's sidecars.
    case leastBusy = "least-busy"
    /// Cheapest first for the request's expected tokens (per the price table).
    case cheapest
}

/// What the strategies know about one target.
public struct TargetStats: Sendable, Equatable {
    /// EWMA of time to first byte in microseconds; nil until measured.
    public var latencyMicros: Int64?
    public var inFlight: Int

    public init(latencyMicros: Int64? = nil, inFlight: Int = 0) {
        self.latencyMicros = latencyMicros
        self.inFlight = inFlight
    }
}

/// Orders targets for a strategy: a pure function (`random` in 0..<1 values are passed in).
public enum TargetOrdering {
    /// Indices of `count` targets in the order to try them.
    public static func order(
        _ strategy: BalancingStrategy,
        weights: [Double],
        stats: [TargetStats],
        costs: [Double?],
        random: [Double]
    ) -> [Int] {
        let indices = Array(weights.indices)
        switch strategy {
        case .priority:
            return indices
        case .weighted:
            // Efraimidis–Spirakis: sort by u^(1/w) descending — a weighted random permutation.
            let keys = indices.map { index -> Double in
                let weight = max(weights[index], 0)
                guard weight > 0 else { return -1 }
                let u = min(max(random[index], 1e-12), 1)
                return pow(u, 1 / weight)
            }
            return indices.sorted { keys[$0] > keys[$1] || (keys[$0] == keys[$1] && $0 < $1) }
        case .leastLatency:
            // Unmeasured targets first (so they get measured), then fastest.
            return indices.sorted { lhs, rhs in
                let left = stats[lhs].latencyMicros ?? -1
                let right = stats[rhs].latencyMicros ?? -1
                return left < right || (left == right && lhs < rhs)
            }
        case .leastBusy:
            return indices.sorted {
                stats[$0].inFlight < stats[$1].inFlight || (stats[$0].inFlight == stats[$1].inFlight && $0 < $1)
            }
        case .cheapest:
            return indices.sorted { lhs, rhs in
                let left = costs[lhs] ?? .infinity
                let right = costs[rhs] ?? .infinity
                return left < right || (left == right && lhs < rhs)
            }
        }
    }

    /// The next EWMA after a measurement (α = 0.2).
    public static func ewma(_ previous: Int64?, _ sample: Int64) -> Int64 {
        guard let previous else { return sample }
        return Int64((0.8 * Double(previous) + 0.2 * Double(sample)).rounded())
    }
}

/// Shared per-target statistics for the strategies.
public protocol TargetStatsStore: Sendable {
    func stats(for targets: [String]) async throws -> [TargetStats]
    func recordLatency(_ target: String, micros: Int64) async throws
    /// Adds `delta` to this process's in-flight count for `target`.
    func adjustInFlight(_ target: String, by delta: Int) async throws
}

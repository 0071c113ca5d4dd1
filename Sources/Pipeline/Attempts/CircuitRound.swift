import GatewayCore

/// The circuit breakers as one request sees them: each target's circuit is consulted the first
/// time the request turns to it (a half-open circuit lets exactly one request in the host probe
/// it), outcomes are reported back, and when every target of the model is open the one whose
/// cooldown ends first is tried anyway rather than failing without a try (docs/design.md, failover).
struct CircuitRound {
    private let store: (any CircuitStore)?
    private let policy: CircuitPolicy
    private let clock: any WallClock
    private let candidates: [RouteTarget]
    private var consulted: Set<Int> = []
    /// The target tried despite an open circuit, when all are open.
    private var forced: Int?

    init(
        store: (any CircuitStore)?, policy: CircuitPolicy, clock: any WallClock, candidates: [RouteTarget],
        primaryCount: Int?
    ) async {
        self.store = store
        self.policy = policy
        self.clock = clock
        self.candidates = candidates
        guard let store else { return }
        let now = clock.nowMillis()
        let primary = candidates.prefix(primaryCount ?? candidates.count)
        var soonest: (index: Int, until: Int64)?
        for (index, target) in primary.enumerated() {
            guard let state = try? await store.state(of: target.label).clamped(nowMillis: now, policy: policy)
            else { return }
            guard state.openUntilMillis != 0 else { return }  // at least one is closed or half-open
            let until = max(state.openUntilMillis, state.probeUntilMillis)
            if until <= now { return }
            if soonest.map({ until < $0.until }) ?? true { soonest = (index, until) }
        }
        forced = soonest?.index
    }

    /// When the target's circuit is open: a description for the attempt record; nil to send.
    mutating func skip(_ index: Int) async -> String? {
        guard let store, index != forced, consulted.insert(index).inserted else { return nil }
        let decision: CircuitBreaker.Decision
        do {
            decision = try await store.check(candidates[index].label, policy: policy, nowMillis: clock.nowMillis())
        } catch {
            return nil  // the breaker fails open
        }
        guard case .open(let until) = decision else { return nil }
        let seconds = max(0, until.addingSaturating(-clock.nowMillis()).addingSaturating(999) / 1000)
        return "retry in \(seconds)s"
    }

    func report(_ index: Int, success: Bool) async {
        guard let store else { return }
        try? await store.record(candidates[index].label, success: success, policy: policy, nowMillis: clock.nowMillis())
    }
}

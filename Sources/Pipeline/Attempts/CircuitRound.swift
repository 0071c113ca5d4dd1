import GatewayCore

/// The circuit breakers as one request sees them: the circuits of every candidate are read at once
/// (one shared-state read), a closed circuit is decided on that snapshot without another visit to the
/// store, an open one is checked in the store (a half-open circuit lets exactly one request in the
/// host probe it), outcomes are reported back — a success on a clean circuit changes nothing and is
/// not written — and when every target of the model is open the one whose cooldown ends first is
/// tried anyway rather than failing without a try (docs/design.md, failover).
struct CircuitRound {
    private let store: (any CircuitStore)?
    private let policy: CircuitPolicy
    private let clock: any WallClock
    private let candidates: [RouteTarget]
    /// The circuits as read at the start of the request (nil: unread, ask the store).
    private var snapshot: [CircuitState?]
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
        self.snapshot = candidates.map { _ in nil }
        guard let store, let states = try? await store.states(of: candidates.map(\.label)) else { return }
        let now = clock.nowMillis()
        snapshot = states.map { $0.clamped(nowMillis: now, policy: policy) }
        var soonest: (index: Int, until: Int64)?
        for index in 0..<min(primaryCount ?? candidates.count, candidates.count) {
            guard let state = snapshot[index], state.openUntilMillis != 0 else { return }  // one is closed
            let until = max(state.openUntilMillis, state.probeUntilMillis)
            if until <= now { return }  // one is due for its probe
            if soonest.map({ until < $0.until }) ?? true { soonest = (index, until) }
        }
        forced = soonest?.index
    }

    /// When the target's circuit is open: a description for the attempt record; nil to send.
    mutating func skip(_ index: Int) async -> String? {
        guard let store, index != forced, consulted.insert(index).inserted else { return nil }
        if let state = snapshot[index], state.openUntilMillis == 0 { return nil }  // closed: send
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
        if success, snapshot[index] == CircuitState() { return }  // nothing to reset
        try? await store.record(candidates[index].label, success: success, policy: policy, nowMillis: clock.nowMillis())
    }
}

import GatewayCore

/// The circuit breakers as one request sees them: each target's circuit is consulted the first
/// time the request turns to it (a half-open circuit lets exactly one request in the host probe
/// it), outcomes are reported back, and when every target of the model is open the one whose
/// cooldown ends first is tried anyway rather than failing without a try (DESIGN.md §4).
struct BreakerRound {
    private let pipeline: RequestPipeline
    private let candidates: [RouteTarget]
    private var consulted: Set<Int> = []
    /// The target tried despite an open circuit, when all are open.
    private var forced: Int?

    init(pipeline: RequestPipeline, candidates: [RouteTarget], primaryCount: Int?) async {
        self.pipeline = pipeline
        self.candidates = candidates
        guard let store = pipeline.state?.circuits else { return }
        let now = pipeline.nowMillis()
        let primary = candidates.prefix(primaryCount ?? candidates.count)
        var soonest: (index: Int, until: Int64)?
        for (index, target) in primary.enumerated() {
            guard
                let state = try? await store.state(of: target.label).clamped(
                    nowMillis: now, policy: pipeline.configuration.circuit)
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
        guard let store = pipeline.state?.circuits, index != forced, consulted.insert(index).inserted else {
            return nil
        }
        let decision: CircuitBreaker.Decision
        do {
            decision = try await store.check(
                candidates[index].label,
                policy: pipeline.configuration.circuit,
                nowMillis: pipeline.nowMillis()
            )
        } catch {
            return nil  // the breaker fails open
        }
        guard case .open(let until) = decision else { return nil }
        let seconds = max(0, until.addingSaturating(-pipeline.nowMillis()).addingSaturating(999) / 1000)
        return "retry in \(seconds)s"
    }

    func report(_ index: Int, success: Bool) async {
        guard let store = pipeline.state?.circuits else { return }
        try? await store.record(
            candidates[index].label,
            success: success,
            policy: pipeline.configuration.circuit,
            nowMillis: pipeline.nowMillis()
        )
    }
}

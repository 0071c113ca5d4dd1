import GatewayCore

extension RequestPipeline {
    /// Orders the model's own targets by its strategy (fallbacks keep their place after them).
    func balanced(_ route: Route, body: [UInt8]) async -> Route {
        guard route.strategy != .priority, route.ownCount > 1 else { return route }
        let own = Array(route.candidates.prefix(route.ownCount))
        var stats = own.map { _ in TargetStats() }
        if route.strategy == .leastLatency || route.strategy == .leastBusy, let store = state?.stats {
            stats = (try? await store.stats(for: own.map(\.label))) ?? stats
        }
        var costs: [Double?] = own.map { _ in nil }
        if route.strategy == .cheapest {
            let estimate = AdmissionEstimate.tokens(body: body)
            let usage = TokenUsage(promptTokens: estimate.prompt, completionTokens: estimate.output)
            costs = own.map { ($0.price ?? prices.price(for: $0.upstreamModel))?.cost(of: usage) }
        }
        var generator = SystemRandomNumberGenerator()
        let order = TargetOrdering.order(
            route.strategy,
            weights: own.map(\.weight),
            stats: stats,
            costs: costs,
            random: own.map { _ in Double.random(in: 0..<1, using: &generator) }
        )
        var reordered = route
        reordered.candidates = order.map { own[$0] } + route.candidates.dropFirst(route.ownCount)
        return reordered
    }

    /// Counts an attempt in flight to `target` for `least-busy` (across the host's sidecars).
    func trackInFlight(_ target: RouteTarget, _ route: Route, delta: Int) async {
        guard route.strategy == .leastBusy, let store = state?.stats else { return }
        try? await store.adjustInFlight(target.label, by: delta)
    }

    /// Feeds a measured time to first byte into the target's average for `least-latency`.
    func recordLatency(_ target: RouteTarget, _ route: Route, micros: Int64?) async {
        guard route.strategy == .leastLatency, let micros, let store = state?.stats else { return }
        try? await store.recordLatency(target.label, micros: micros)
    }
}

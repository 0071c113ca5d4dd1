import GatewayCore

/// Stage 3, route: the model alias becomes its ordered candidates — its own targets in the order
/// of its strategy, then its fallbacks' targets in their configured order. It runs before
/// admission: the first candidate prices the reservation.
struct RoutingStage: Sendable {
    let router: Router
    let prices: PriceTable
    /// Latency and in-flight figures for `least-latency` and `least-busy`.
    let stats: (any TargetStatsStore)?
    let random: any RandomSource

    func route(for model: String, body: [UInt8]) async throws(GatewayError) -> Route {
        let route = try router.route(for: model)
        guard route.strategy != .priority, route.ownCount > 1 else { return route }
        let own = Array(route.candidates.prefix(route.ownCount))
        var figures = own.map { _ in TargetStats() }
        if route.strategy == .leastLatency || route.strategy == .leastBusy, let stats {
            figures = (try? await stats.stats(for: own.map(\.label))) ?? figures
        }
        var costs: [Double?] = own.map { _ in nil }
        if route.strategy == .cheapest {
            let usage = AdmissionEstimate.tokens(body: body).usage
            costs = own.map { prices.price(of: $0)?.cost(of: usage) }
        }
        let order = TargetOrdering.order(
            route.strategy,
            weights: own.map(\.weight),
            stats: figures,
            costs: costs,
            random: own.map { _ in random.unit() }
        )
        var reordered = route
        reordered.candidates = order.map { own[$0] } + route.candidates.dropFirst(route.ownCount)
        return reordered
    }
}

extension PriceTable {
    /// What `target` costs: its configured price, else the shipped table's for its upstream model.
    func price(of target: RouteTarget) -> ModelPrice? {
        target.price ?? price(for: target.upstreamModel)
    }

    /// Whether what `target` serves can be priced: a configured price, a listed model, or an
    /// Azure deployment, priced by the model its answer names.
    func canPrice(_ target: RouteTarget) -> Bool {
        price(of: target) != nil || target.provider.kind == .azure
    }
}

import GatewayCore

/// One place a request for a model may go: a provider and the model name it knows.
public struct RouteTarget: Sendable {
    public let provider: ProviderConfiguration
    public let upstreamModel: String
    public let timeouts: TimeoutConfiguration
    /// The provider's quota for this target, enforced across the host.
    public let limits: LimitSettings
    /// The configured price, when it overrides the shipped table.
    public let price: ModelPrice?
    public let weight: Double

    /// `provider/model`, as used in logs, headers and error messages.
    public var label: String { "\(provider.name)/\(upstreamModel)" }
}

/// Everything a request for one model may be sent to, in order: the model's targets, then its
/// fallback models' targets, then (only for context-length errors) the context fallback's.
public struct Route: Sendable {
    public var candidates: [RouteTarget]
    /// How many of `candidates` are the model's own targets (the part a strategy reorders).
    public var ownCount: Int
    public var strategy: BalancingStrategy
    /// Index in `candidates` where the context-length fallback's targets start.
    public var contextFallbackStart: Int?
}

/// Maps the model names clients send to their ordered candidate targets. Built once per
/// configuration; lookups are a dictionary read.
public struct Router: Sendable {
    private let routes: [String: [RouteTarget]]
    private let fallbacks: [String: (fallbacks: [String], context: String?)]
    private let strategies: [String: BalancingStrategy]
    /// Model names in configuration order, for `GET /v1/models`.
    public let modelNames: [String]

    public init(configuration: GatewayConfiguration) {
        var routes: [String: [RouteTarget]] = [:]
        for model in configuration.models {
            routes[model.name] = model.targets.compactMap { target in
                guard let provider = configuration.provider(named: target.provider) else { return nil }
                return RouteTarget(
                    provider: provider,
                    upstreamModel: target.model,
                    timeouts: configuration.timeouts.applying(provider.timeouts).applying(target.timeouts),
                    limits: LimitSettings(
                        requestsPerMinute: target.requestsPerMinute,
                        tokensPerMinute: target.tokensPerMinute
                    ),
                    price: target.price,
                    weight: target.weight
                )
            }
        }
        self.routes = routes
        self.fallbacks = Dictionary(
            configuration.models.map { ($0.name, ($0.fallbacks, $0.contextFallback)) },
            uniquingKeysWith: { first, _ in first }
        )
        self.strategies = Dictionary(
            configuration.models.map { ($0.name, $0.strategy) },
            uniquingKeysWith: { first, _ in first }
        )
        self.modelNames = configuration.models.map(\.name)
    }

    /// The full route of `model`: its targets, its fallbacks' targets (each target once), and the
    /// context fallback's targets.
    public func route(for model: String) throws(GatewayError) -> Route {
        var candidates = try targets(for: model)
        let ownCount = candidates.count
        var seen = Set(candidates.map(\.label))
        for fallback in fallbacks[model]?.fallbacks ?? [] {
            for target in routes[fallback] ?? [] where seen.insert(target.label).inserted {
                candidates.append(target)
            }
        }
        var contextStart: Int?
        if let context = fallbacks[model]?.context, let targets = routes[context], !targets.isEmpty {
            contextStart = candidates.count
            candidates.append(contentsOf: targets)
        }
        return Route(
            candidates: candidates,
            ownCount: ownCount,
            strategy: strategies[model] ?? .priority,
            contextFallbackStart: contextStart
        )
    }

    /// The candidate targets for `model`, in the order they are tried.
    public func targets(for model: String) throws(GatewayError) -> [RouteTarget] {
        guard let targets = routes[model], !targets.isEmpty else {
            throw GatewayError(
                .notFound,
                "The model `\(model)` does not exist or you do not have access to it.",
                param: "model"
            )
        }
        return targets
    }
}

import GatewayCore

/// One place a request for a model may go: a provider and the model name it knows.
public struct RouteTarget: Sendable {
    public let provider: ProviderConfiguration
    public let upstreamModel: String
    public let timeouts: TimeoutConfiguration
    /// The provider's quota for this target, enforced across the host.
    public let limits: LimitSettings

    /// `provider/model`, as used in logs, headers and error messages.
    public var label: String { "\(provider.name)/\(upstreamModel)" }
}

/// Maps the model names clients send to their ordered candidate targets. Built once per
/// configuration; lookups are a dictionary read.
public struct Router: Sendable {
    private let routes: [String: [RouteTarget]]
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
                    timeouts: configuration.timeouts.applying(provider.timeouts),
                    limits: LimitSettings(
                        requestsPerMinute: target.requestsPerMinute,
                        tokensPerMinute: target.tokensPerMinute
                    )
                )
            }
        }
        self.routes = routes
        self.modelNames = configuration.models.map(\.name)
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

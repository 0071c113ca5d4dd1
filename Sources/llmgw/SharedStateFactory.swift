import GatewayCore
import Pipeline
import Store

/// Opens the LMDB environment at `state.path` and the facilities over it.
enum SharedStateFactory {
    static func environment(_ configuration: GatewayConfiguration) throws -> LMDBEnvironment {
        try LMDBEnvironment(
            .init(
                path: configuration.state.path,
                mapSizeBytes: configuration.state.mapSizeBytes,
                durability: configuration.state.durability == .full ? .full : .relaxed
            )
        )
    }

    static func open(_ configuration: GatewayConfiguration) throws -> (SharedState, LMDBEnvironment) {
        let environment = try environment(configuration)
        let cache = LMDBResponseCache(
            environment: environment,
            configuration: .init(maxBytes: configuration.cache.maxBytes)
        )
        let state = SharedState(
            keys: LMDBKeyStore(environment: environment),
            admission: LMDBAdmissionStore(environment: environment),
            cache: cache,
            circuits: LMDBCircuitStore(environment: environment),
            stats: try LMDBTargetStatsStore(environment: environment),
            onStoreError: configuration.limits.onStoreError == .deny ? .deny : .allow
        )
        return (state, environment)
    }
}

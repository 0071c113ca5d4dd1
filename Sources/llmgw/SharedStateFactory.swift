import GatewayCore
import Logging
import Pipeline
import RedisStore
import Store

#if canImport(Glibc)
    import Glibc
#endif

/// Opens the LMDB environment at `state.path` and the facilities over it.
enum SharedStateFactory {
    /// The volatile and durable environments (`SharedStateLayout`). When another sidecar
    /// (another PID namespace) already has our PID, the command goes on in a fresh PID
    /// (`PIDSupervisor`) and this never returns.
    static func layout(_ configuration: GatewayConfiguration) throws -> SharedStateLayout {
        let state = configuration.state
        do {
            return try SharedStateLayout(
                path: state.path,
                mapSizeBytes: state.mapSizeBytes,
                maxReaders: state.maxReaders,
                durability: state.durability == .full ? .full : .relaxed,
                fileMode: mode_t(state.fileMode),
                timeout: state.lockTimeout
            )
        } catch {
            if error.code == .pidInUse { PIDSupervisor.continueInFreshPID(reason: error.message) }
            if error.message.contains("Permission denied") {
                throw StoreError(
                    error.code,
                    error.message + " — the state files belong to another user: run every sidecar of the host as "
                        + "the uid that owns \(state.path) (state files are owner-only, see state.mode)")
            }
            throw error
        }
    }

    /// Both environments read-only (`SharedStateLayout.openReadOnly`), for `llmgw status`; a
    /// PID taken by another opener is handled as in `layout`.
    static func readOnlyLayout(_ configuration: GatewayConfiguration) throws -> SharedStateLayout {
        let state = configuration.state
        do {
            return try SharedStateLayout.openReadOnly(
                path: state.path, mapSizeBytes: state.mapSizeBytes, maxReaders: state.maxReaders,
                durability: state.durability == .full ? .full : .relaxed, timeout: state.lockTimeout)
        } catch {
            if error.code == .pidInUse { PIDSupervisor.continueInFreshPID(reason: error.message) }
            throw error
        }
    }

    static func open(_ configuration: GatewayConfiguration, logger: Logger) async throws -> (
        SharedState, SharedStateLayout
    ) {
        let layout = try layout(configuration)
        let executor = layout.volatile
        let cache = LMDBResponseCache(
            executor: executor,
            configuration: .init(maxBytes: configuration.cache.maxBytes)
        )
        var admission: any AdmissionStore = LMDBAdmissionStore(executor: executor)
        var onStoreError: SharedState.StoreErrorPolicy = configuration.limits.onStoreError == .deny ? .deny : .allow
        if let shared = configuration.shared {
            admission = try await fleetAdmission(shared, local: admission, logger: logger)
            if shared.onError == .deny { onStoreError = .deny }
        }
        let state = SharedState(
            keys: LMDBKeyStore(executor: layout.durable),
            admission: admission,
            cache: cache,
            circuits: LMDBCircuitStore(executor: executor),
            stats: try await LMDBTargetStatsStore(executor: executor),
            responses: LMDBResponseCache(
                executor: executor,
                configuration: .init(maxBytes: configuration.responses.maxBytes, namespace: "responses")),
            semantic: LMDBSemanticIndex(executor: executor),
            onStoreError: onStoreError
        )
        return (state, layout)
    }

    /// The fleet's admission store (`shared:`), its credentials resolved; nothing is sent yet.
    static func redisAdmission(_ shared: SharedConfiguration) throws -> RedisAdmissionStore {
        let resolver = SecretResolver()
        let username = try shared.username.map { try resolver.resolve($0, path: "shared.username").revealed }
        let password = try shared.password.map { try resolver.resolve($0, path: "shared.password").revealed }
        let endpoint = try RedisEndpoint(url: shared.redis, username: username, password: password)
        let client = RedisClient(
            endpoint: endpoint, configuration: .init(connections: shared.pool, timeout: shared.timeout))
        return RedisAdmissionStore(client: client, prefix: shared.prefix)
    }

    /// `shared:`: limits, budgets and spend on the fleet's Redis, `local` underneath for
    /// `on_error` (docs/design.md, "Two tiers"). Credentials that the server refuses, or a user
    /// that may not run the scripts, stop the start with the server's reason; a server that is
    /// down at start is not fatal: `on_error` applies until it answers.
    static func fleetAdmission(_ shared: SharedConfiguration, local: any AdmissionStore, logger: Logger) async throws
        -> FleetAdmissionStore
    {
        let store = try redisAdmission(shared)
        let endpoint = store.client.endpoint
        let failure: RedisError?
        do {
            try await store.check()
            failure = nil
        } catch {
            failure = error
        }
        if let failure {
            // Refused credentials or scripts stop the start; a server that is down does not.
            guard failure.code == .unavailable || failure.code == .timeout else { throw failure }
            logger.error(
                "shared state unreachable at start: admission falls back until it answers",
                metadata: ["redis": "\(endpoint)", "on_error": "\(shared.onError)", "error": "\(failure)"])
        } else {
            logger.info("shared state on Redis", metadata: ["redis": "\(endpoint)", "on_error": "\(shared.onError)"])
        }
        return FleetAdmissionStore(
            fleet: store, local: local, onError: shared.onError, localShare: shared.localShare, logger: logger)
    }

    /// State files readable beyond the owner, for a warning at start (other local users could
    /// read cached answers and spend).
    static func looselyReadableFiles(_ configuration: GatewayConfiguration) -> [String] {
        ["data.mdb", "lock.mdb", "durable/data.mdb", "durable/lock.mdb"].map { configuration.state.path + "/" + $0 }
            .filter { path in
                var status = stat()
                guard stat(path, &status) == 0 else { return false }
                let allowed = mode_t(configuration.state.fileMode)
                return status.st_mode & 0o044 & ~allowed != 0
            }
    }
}

import GatewayCore
import Pipeline
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

    static func open(_ configuration: GatewayConfiguration) async throws -> (SharedState, SharedStateLayout) {
        let layout = try layout(configuration)
        let executor = layout.volatile
        let cache = LMDBResponseCache(
            executor: executor,
            configuration: .init(maxBytes: configuration.cache.maxBytes)
        )
        let state = SharedState(
            keys: LMDBKeyStore(executor: layout.durable),
            admission: LMDBAdmissionStore(executor: executor),
            cache: cache,
            circuits: LMDBCircuitStore(executor: executor),
            stats: try await LMDBTargetStatsStore(executor: executor),
            responses: LMDBResponseCache(
                executor: executor,
                configuration: .init(maxBytes: configuration.responses.maxBytes, namespace: "responses")),
            semantic: LMDBSemanticIndex(executor: executor),
            onStoreError: configuration.limits.onStoreError == .deny ? .deny : .allow
        )
        return (state, layout)
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

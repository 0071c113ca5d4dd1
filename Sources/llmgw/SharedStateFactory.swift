import GatewayCore
import Pipeline
import Store

#if canImport(Glibc)
    import Glibc
#endif

/// Opens the LMDB environment at `state.path` and the facilities over it.
enum SharedStateFactory {
    /// The environment and its executor. When another sidecar (another PID namespace) already
    /// has our PID, the command goes on in a fresh PID (`PIDSupervisor`) and this never returns.
    static func executor(_ configuration: GatewayConfiguration) throws -> LMDBExecutor {
        let state = configuration.state
        let environment: LMDBEnvironment
        do {
            environment = try LMDBEnvironment(
                .init(
                    path: state.path,
                    mapSizeBytes: state.mapSizeBytes,
                    maxReaders: state.maxReaders,
                    durability: state.durability == .full ? .full : .relaxed,
                    fileMode: mode_t(state.fileMode)
                )
            )
        } catch let error where error.code == .pidInUse {
            PIDSupervisor.continueInFreshPID(reason: error.message)
        }
        return LMDBExecutor(environment: environment, configuration: .init(timeout: state.lockTimeout))
    }

    static func open(_ configuration: GatewayConfiguration) async throws -> (SharedState, LMDBExecutor) {
        let executor = try executor(configuration)
        let cache = LMDBResponseCache(
            executor: executor,
            configuration: .init(maxBytes: configuration.cache.maxBytes)
        )
        let state = SharedState(
            keys: LMDBKeyStore(executor: executor),
            admission: LMDBAdmissionStore(executor: executor),
            cache: cache,
            circuits: LMDBCircuitStore(executor: executor),
            stats: try await LMDBTargetStatsStore(executor: executor),
            onStoreError: configuration.limits.onStoreError == .deny ? .deny : .allow
        )
        return (state, executor)
    }

    /// State files readable beyond the owner, for a warning at start (other local users could
    /// read cached answers and spend).
    static func looselyReadableFiles(_ configuration: GatewayConfiguration) -> [String] {
        ["data.mdb", "lock.mdb"].map { configuration.state.path + "/" + $0 }.filter { path in
            var status = stat()
            guard stat(path, &status) == 0 else { return false }
            let allowed = mode_t(configuration.state.fileMode)
            return status.st_mode & 0o044 & ~allowed != 0
        }
    }
}

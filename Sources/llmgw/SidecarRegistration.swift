import Foundation
import GatewayCore
import Logging
import ServiceLifecycle
import Store

#if canImport(Glibc)
    import Glibc
#endif

/// This `llmgw serve` in the shared state's sidecar registry (`LMDBSidecarRegistry`), for
/// `llmgw status`: registered by `start` (before the listeners open, so a sidecar that answers is
/// listed), unregistered when the service ends — after every other service of the group has
/// stopped when it is the group's first, i.e. at the end of a clean shutdown. A sidecar that dies
/// without it leaves a stale entry, which the next registration or state sweep deletes.
struct SidecarRegistration: Service {
    let registry: LMDBSidecarRegistry
    let logger: Logger

    /// Registers this process; a failure is logged, never fatal (the registry is informational).
    static func start(
        layout: SharedStateLayout, configPath: String, configuration: GatewayConfiguration, socketPath: String?,
        logger: Logger
    ) async -> SidecarRegistration {
        let registry = LMDBSidecarRegistry(executor: layout.volatile)
        let record = SidecarRecord(
            pid: layout.volatile.environment.pid,
            startedAtMillis: CLIClock.nowMillis(),
            version: LLMGWVersion.current,
            configPath: absolute(configPath),
            socketPath: socketPath ?? configuration.listen.socket,
            tcp: configuration.listen.tcp?.description,
            host: hostName(),
            pidNamespace: pidNamespace(),
            supervised: PIDSupervisor.isSupervisedChild
        )
        do {
            let stale = try await registry.register(record)
            if !stale.isEmpty {
                logger.info("removed stale sidecar entries", metadata: ["pids": "\(stale.map { $0.pid })"])
            }
        } catch {
            logger.warning("cannot record this sidecar in the shared state", metadata: ["error": "\(error)"])
        }
        return SidecarRegistration(registry: registry, logger: logger)
    }

    func run() async throws {
        // Until the graceful shutdown reaches this service (or the group is cancelled).
        try? await gracefulShutdown()
        do {
            try await registry.unregister()
        } catch {
            logger.warning("cannot remove this sidecar from the shared state", metadata: ["error": "\(error)"])
        }
    }

    /// `$HOSTNAME` (a pod's name in Kubernetes), else the kernel's host name.
    static func hostName() -> String {
        if let name = ProcessEnvironment.value("HOSTNAME"), !name.isEmpty { return name }
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `readlink /proc/self/ns/pid`, e.g. `pid:[4026531836]` (empty when unreadable).
    static func pidNamespace() -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        let count = readlink("/proc/self/ns/pid", &buffer, buffer.count - 1)
        guard count > 0 else { return "" }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    }
}

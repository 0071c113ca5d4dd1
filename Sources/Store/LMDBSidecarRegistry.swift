import Foundation
import GatewayCore
import Synchronization

/// One `llmgw serve` process as it records itself in the shared state. Nothing secret: paths,
/// names and numbers only.
public struct SidecarRecord: Sendable, Equatable, Codable {
    /// The PID that holds the environment open (in its own PID namespace; after a
    /// `PIDSupervisor` respawn, the child's).
    public var pid: Int32
    public var startedAtMillis: Int64
    public var version: String
    public var configPath: String
    /// `listen.socket`, or the path of the socket the service manager passed.
    public var socketPath: String
    /// `listen.tcp` when set.
    public var tcp: String?
    /// `$HOSTNAME` (a pod's name) or the kernel's host name.
    public var host: String
    /// `readlink /proc/self/ns/pid`, e.g. `pid:[4026531836]`: tells pods with the same PID apart.
    public var pidNamespace: String
    /// True when the process is the child of a `PIDSupervisor` (its first PID was taken).
    public var supervised: Bool

    public init(
        pid: Int32, startedAtMillis: Int64, version: String, configPath: String, socketPath: String, tcp: String?,
        host: String, pidNamespace: String, supervised: Bool
    ) {
        self.pid = pid
        self.startedAtMillis = startedAtMillis
        self.version = version
        self.configPath = configPath
        self.socketPath = socketPath
        self.tcp = tcp
        self.host = host
        self.pidNamespace = pidNamespace
        self.supervised = supervised
    }

    enum CodingKeys: String, CodingKey {
        case pid, version, tcp, host, supervised
        case startedAtMillis = "started_at_ms"
        case configPath = "config"
        case socketPath = "socket"
        case pidNamespace = "pid_namespace"
    }
}

/// A registered sidecar and whether its process still has the environment open.
public struct SidecarEntry: Sendable, Equatable {
    public var record: SidecarRecord
    public var alive: Bool
}

/// The sidecars of a host, in the volatile environment's `meta` database: `sidecar/<pid>` → the
/// `SidecarRecord` as JSON. Each `llmgw serve` registers at start and unregisters on a clean
/// shutdown; a crashed one leaves its entry behind, *stale*.
///
/// Liveness is LMDB's own (`LMDBEnvironment.isOpenerAlive`: the PID's reader-lock byte of
/// `lock.mdb` is held), never `kill(pid, 0)`, which cannot see other PID namespaces; among live
/// openers PIDs are unique, so the key `sidecar/<pid>` is too. A stale entry's PID may be reused
/// by a later opener: a sidecar then replaces the entry when it registers, and a CLI command
/// holding that PID makes the entry look alive only while it runs. Stale entries are deleted at
/// registration and by the state sweep. (The volatile environment is wiped after a reboot, and
/// the registry with it.)
public final class LMDBSidecarRegistry: Sendable {
    private let executor: LMDBExecutor
    private let meta: LMDBDatabase?
    /// What this instance registered: an entry of our own PID is alive only if it is ours.
    private let registered = Mutex<SidecarRecord?>(nil)

    static let prefix = "sidecar/"

    public init(executor: LMDBExecutor) {
        self.executor = executor
        let environment = executor.environment
        self.meta = environment.hasDatabase("meta") ? environment.database("meta") : nil
    }

    /// Records this process (under the PID that holds the environment open, whatever `record.pid`
    /// says) and deletes the entries of dead sidecars. Returns the stale entries removed.
    @discardableResult
    public func register(_ record: SidecarRecord) async throws -> [SidecarRecord] {
        guard let meta else { return [] }
        var record = record
        record.pid = executor.environment.pid
        let encoded = Array(try JSONEncoder().encode(record))
        let pid = record.pid
        let key = Self.key(pid)
        let removed = try await executor.write { [environment = executor.environment] transaction in
            let stale = try Self.entries(transaction, meta).filter { entry in
                entry.pid != pid && !environment.isOpenerAlive(entry.pid)
            }
            for entry in stale { try transaction.delete(meta, Self.key(entry.pid)) }
            try transaction.put(meta, key, encoded)
            return stale
        }
        registered.withLock { [record] in $0 = record }
        return removed
    }

    /// Removes this process's entry (clean shutdown).
    public func unregister() async throws {
        guard let meta, let record = registered.withLock({ $0 }) else { return }
        try await executor.write { transaction in
            _ = try transaction.delete(meta, Self.key(record.pid))
        }
        registered.withLock { $0 = nil }
    }

    /// Every registered sidecar, by PID, with its liveness. Read-only.
    public func sidecars() async throws -> [SidecarEntry] {
        guard let meta else { return [] }
        let environment = executor.environment
        let own = registered.withLock { $0 }
        return try await executor.read { transaction in
            try Self.entries(transaction, meta).map { record in
                // Our own PID: alive only as the entry we wrote (a dead predecessor's otherwise).
                let alive = record.pid == environment.pid ? own == record : environment.isOpenerAlive(record.pid)
                return SidecarEntry(record: record, alive: alive)
            }
        }
    }

    /// Deletes the entries whose process no longer has the environment open (never this
    /// process's own PID); returns them. Reads first, writes only when there is something to do.
    @discardableResult
    public func removeStale() async throws -> [SidecarRecord] {
        guard let meta else { return [] }
        let environment = executor.environment
        let isStale: @Sendable (SidecarRecord) -> Bool = { record in
            record.pid != environment.pid && !environment.isOpenerAlive(record.pid)
        }
        let found = try await executor.read { transaction in try Self.entries(transaction, meta).filter(isStale) }
        guard !found.isEmpty else { return [] }
        return try await executor.write { transaction in
            let stale = try Self.entries(transaction, meta).filter(isStale)
            for record in stale { try transaction.delete(meta, Self.key(record.pid)) }
            return stale
        }
    }

    static func key(_ pid: Int32) -> [UInt8] { Array("\(prefix)\(pid)".utf8) }

    private static func entries(_ transaction: LMDBTransaction, _ meta: LMDBDatabase) throws -> [SidecarRecord] {
        var records: [SidecarRecord] = []
        let start = Array(prefix.utf8)
        try transaction.forEach(meta, from: start) { key, value in
            guard key.starts(with: start) else { return false }
            // An entry this version cannot read (a newer one's) is skipped, not fatal.
            if let record = try? JSONDecoder().decode(SidecarRecord.self, from: Data(value)) { records.append(record) }
            return true
        }
        return records.sorted { $0.pid < $1.pid }
    }
}

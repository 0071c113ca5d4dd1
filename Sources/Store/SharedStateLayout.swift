import Foundation
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// The two LMDB environments under `state.path`, so that `durability: relaxed` is fast *and*
/// never loses what must not be lost:
///
/// - **volatile** (`state.path/data.mdb`): cache, rate-limit counters, circuits, strategy
///   statistics and the live budget and usage counters. Written on every request, so under
///   `relaxed` its commits are not synced (`MDB_NOSYNC`). LMDB documents that a machine crash can
///   then corrupt it, so it is *wiped* when the machine has restarted since it was last opened
///   (the kernel's boot id changed): a cache, counters and circuits from before a reboot are
///   worth nothing anyway.
/// - **durable** (`state.path/durable/data.mdb`): virtual keys, teams, and a checkpoint of budget
///   spend and usage totals. Synced on every commit (keys change rarely; the checkpoint is one
///   commit every `checkpointInterval` when anything changed). A wiped volatile environment is
///   seeded from it, so a power loss costs at most the last interval of spend accounting.
///
/// Under `durability: full` both are synced on every commit and nothing is ever wiped.
///
/// Opening is serialised across the host's sidecars by an `flock` on `state.path/open.lock`, so
/// one of them wipes, seeds and records the boot id before any other opens the files.
public final class SharedStateLayout: Sendable {
    public let volatile: LMDBExecutor
    public let durable: LMDBExecutor
    /// What opening did, for the start-up log.
    public let notes: [String]

    public static let volatileDatabases = [
        "cache", "cache_expiry", "limits", "keys", "spend", "health", "meta", "responses", "responses_expiry",
        "semantic", "semantic_age",
    ]
    public static let durableDatabases = ["keys", "spend", "meta"]

    public init(
        path: String,
        mapSizeBytes: Int,
        maxReaders: Int,
        durability: LMDBEnvironment.Durability,
        fileMode: mode_t,
        timeout: Duration
    ) throws(StoreError) {
        var notes: [String] = []
        let environment = LMDBEnvironment.Configuration(
            path: path, mapSizeBytes: mapSizeBytes, maxReaders: maxReaders, durability: durability,
            databases: Self.volatileDatabases, fileMode: fileMode)
        try LMDBEnvironment.prepareDirectory(path, fileMode: fileMode)
        let lock = try Self.lockOpening(path, fileMode: fileMode)
        defer { close(lock) }  // releases the flock

        let bootID = Self.currentBootID()
        let bootFile = path + "/boot_id"
        let recorded = (try? String(contentsOfFile: bootFile, encoding: .utf8))?.trimmingCharacters(
            in: .whitespacesAndNewlines)
        let volatileFile = path + "/data.mdb"
        if durability == .relaxed, let recorded, let bootID, recorded != bootID,
            FileManager.default.fileExists(atPath: volatileFile)
        {
            // Not synced before the machine went down: possibly torn. Start it afresh.
            unlink(volatileFile)
            unlink(path + "/lock.mdb")
            notes.append(
                "the machine restarted since the shared state was last opened: cache, rate-limit counters and "
                    + "circuits were reset; keys, teams and spend come from the durable checkpoint")
        }
        let fresh = !FileManager.default.fileExists(atPath: volatileFile)

        var durableConfiguration = environment
        durableConfiguration.path = path + "/durable"
        durableConfiguration.durability = .full
        durableConfiguration.databases = Self.durableDatabases
        durableConfiguration.mapSizeBytes = min(mapSizeBytes, 4 << 30)
        let durableEnvironment = try LMDBEnvironment(durableConfiguration)
        let volatileEnvironment = try LMDBEnvironment(environment)

        try Self.migrateKeys(from: volatileEnvironment, to: durableEnvironment, notes: &notes)
        if fresh { try Self.seedSpend(from: durableEnvironment, into: volatileEnvironment) }
        if let bootID, bootID != recorded {
            try? (bootID + "\n").write(toFile: bootFile, atomically: true, encoding: .utf8)
            chmod(bootFile, fileMode)
        }
        self.volatile = LMDBExecutor(environment: volatileEnvironment, configuration: .init(timeout: timeout))
        self.durable = LMDBExecutor(
            environment: durableEnvironment, configuration: .init(timeout: timeout, readerThreads: 1))
        self.notes = notes
    }

    private init(volatile: LMDBExecutor, durable: LMDBExecutor, notes: [String]) {
        self.volatile = volatile
        self.durable = durable
        self.notes = notes
    }

    /// Both environments opened read-only (`LMDBEnvironment.Configuration.readOnly`), for
    /// `llmgw status`: no `open.lock`, no wipe, no seeding, no write transaction at all, so it
    /// works beside running sidecars and never waits for a writer (a stopped one included).
    /// Throws when the state does not exist, or when the volatile environment predates the last
    /// boot under `relaxed` (possibly torn; the next sidecar to start wipes it).
    public static func openReadOnly(
        path: String, mapSizeBytes: Int, maxReaders: Int, durability: LMDBEnvironment.Durability, timeout: Duration
    ) throws(StoreError) -> SharedStateLayout {
        var status = stat()
        guard stat(path + "/data.mdb", &status) == 0 else {
            throw StoreError(.io, "no shared state at \(path) (\(path)/data.mdb: \(String(cString: strerror(errno))))")
        }
        let recorded = (try? String(contentsOfFile: path + "/boot_id", encoding: .utf8))?.trimmingCharacters(
            in: .whitespacesAndNewlines)
        if durability == .relaxed, let recorded, let bootID = currentBootID(), recorded != bootID {
            throw StoreError(
                .io,
                "the volatile state at \(path) predates the last boot (not read: it may be torn); the next sidecar "
                    + "to start resets it")
        }
        let volatileConfiguration = LMDBEnvironment.Configuration(
            path: path, mapSizeBytes: mapSizeBytes, maxReaders: maxReaders, durability: .relaxed,
            databases: volatileDatabases, readOnly: true)
        var durableConfiguration = volatileConfiguration
        durableConfiguration.path = path + "/durable"
        durableConfiguration.databases = durableDatabases
        durableConfiguration.mapSizeBytes = min(mapSizeBytes, 4 << 30)
        let durableEnvironment = try LMDBEnvironment(durableConfiguration)
        let volatileEnvironment = try LMDBEnvironment(volatileConfiguration)
        // Every sidecar creates them at its first open; only the registry (`meta`), the
        // Responses store and the semantic cache (newer than the rest) may be missing.
        let optional: Set<String> = ["meta", "responses", "responses_expiry", "semantic", "semantic_age"]
        for environment in [volatileEnvironment, durableEnvironment] {
            let path = environment.configuration.path
            for name in environment.configuration.databases
            where !optional.contains(name) && !environment.hasDatabase(name) {
                throw StoreError(.io, "the state at \(path) has no database \(name) (not written by llmgw serve?)")
            }
        }
        return SharedStateLayout(
            volatile: LMDBExecutor(environment: volatileEnvironment, configuration: .init(timeout: timeout)),
            durable: LMDBExecutor(
                environment: durableEnvironment, configuration: .init(timeout: timeout, readerThreads: 1)),
            notes: [])
    }

    /// Copies changed budget spend and the usage totals of the last two days from the volatile
    /// counters into the durable checkpoint, in one synced commit (none when nothing changed).
    /// Returns how many counters were written.
    @discardableResult
    public func checkpointSpend(nowMillis: Int64) async throws -> Int {
        let today = BudgetPeriod.day.identifier(atMillis: nowMillis)
        let yesterday = BudgetPeriod.day.identifier(atMillis: nowMillis.addingSaturating(-86_400_000))
        let spend = volatile.environment.database("spend")
        let live = try await volatile.read { transaction in
            var counters: [([UInt8], [UInt8])] = []
            for prefix in ["budget/", "usage/\(yesterday)/", "usage/\(today)/"] {
                let start = Array(prefix.utf8)
                try transaction.forEach(spend, from: start) { key, value in
                    guard key.starts(with: start) else { return false }
                    counters.append((key, value))
                    return true
                }
            }
            return counters
        }
        let durableSpend = durable.environment.database("spend")
        let changed = try await durable.read { transaction in
            try live.filter { key, value in try transaction.get(durableSpend, key) != value }
        }
        guard !changed.isEmpty else { return 0 }
        try await durable.writeDetached { transaction in
            for (key, value) in changed { try transaction.put(durableSpend, key, value) }
        }
        return changed.count
    }

    /// Removes checkpointed usage lines of days before `day`, like the volatile ones.
    public func pruneCheckpoint(before day: String, limit: Int) async throws -> Int {
        try await LMDBAdmissionStore.pruneUsage(
            in: durable, durable.environment.database("spend"), before: day, limit: limit)
    }

    // MARK: - Opening

    private static func lockOpening(_ path: String, fileMode: mode_t) throws(StoreError) -> Int32 {
        let descriptor = open(path + "/open.lock", O_RDWR | O_CREAT | O_CLOEXEC, fileMode)
        guard descriptor >= 0 else {
            throw StoreError(.io, "cannot open \(path)/open.lock: \(String(cString: strerror(errno)))")
        }
        // Another sidecar opening at the same moment holds it for milliseconds; a stopped one
        // must not keep us from starting forever.
        for _ in 0..<200 {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return descriptor }
            usleep(50_000)
        }
        close(descriptor)
        throw StoreError(.timeout, "another process has held \(path)/open.lock for 10s (stopped while opening?)")
    }

    static func currentBootID() -> String? {
        (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    /// Keys and teams written by versions that kept them in the volatile environment move to the
    /// durable one (once: only while the durable one has none).
    private static func migrateKeys(
        from volatile: LMDBEnvironment, to durable: LMDBEnvironment, notes: inout [String]
    ) throws(StoreError) {
        let target = durable.database("keys")
        guard (try? durable.withReadTransaction({ try $0.count(target) })) == 0 else { return }
        let moved = try copyAll(volatile, volatile.database("keys"), into: durable, target)
        if moved > 0 { notes.append("moved \(moved) keys and teams to the durable state") }
    }

    /// A new volatile environment starts from the durable checkpoint of spend and usage.
    private static func seedSpend(from durable: LMDBEnvironment, into volatile: LMDBEnvironment) throws(StoreError) {
        _ = try copyAll(durable, durable.database("spend"), into: volatile, volatile.database("spend"))
    }

    /// Copies every entry of `source` into `target` in one write transaction; returns how many.
    private static func copyAll(
        _ from: LMDBEnvironment, _ source: LMDBDatabase, into to: LMDBEnvironment, _ target: LMDBDatabase
    ) throws(StoreError) -> Int {
        do {
            var entries: [([UInt8], [UInt8])] = []
            try from.withReadTransaction { transaction in
                try transaction.forEach(source) { key, value in
                    entries.append((key, value))
                    return true
                }
            }
            guard !entries.isEmpty else { return 0 }
            try to.withWriteTransaction { transaction in
                for (key, value) in entries { try transaction.put(target, key, value) }
            }
            return entries.count
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "copying \(source.name) between the state's environments: \(error)")
        }
    }
}

import CLMDB
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// An LMDB environment shared by every llmgw process on the host (`state.path`).
///
/// Opened with `MDB_NOTLS` so read transactions are not tied to threads. `durability` picks the
/// sync policy (see `Durability`); a crashed *process* never loses a commit either way.
///
/// **Processes in separate PID namespaces.** LMDB keys its reader table by PID: the first read
/// transaction of a process takes an `fcntl` lock on byte `pid` of `lock.mdb`, and
/// `mdb_reader_check` judges a reader alive by that lock. Two live openers with the same PID
/// number (pods) would collide, so `init` *probes* its PID before anything else: the byte must be
/// free (the first read transaction, which takes it atomically, succeeds) and no reader slot may
/// carry our PID (a slot left by a dead process of another namespace that we could never clear).
/// Otherwise it throws `StoreError.Code.pidInUse`, and the process continues in a fresh PID
/// (`PIDSupervisor`). While the environment is open the byte stays ours, so among live openers
/// PIDs are unique and `isOpenerAlive` is a sound liveness test across namespaces.
///
/// **Map size.** A transaction that meets `MDB_MAP_RESIZED` (another opener grew the map past
/// ours) adopts the new size and retries. `mdb_env_set_mapsize` may only run while no other
/// thread of the process is inside a transaction: every transaction holds `mapLock` shared, the
/// resize takes it exclusively (with a bounded wait).
///
/// Transactions are scoped closures: a write transaction commits when its closure returns and
/// aborts when it throws. They are synchronous, must never span an `await`, and should run on
/// `LMDBExecutor`'s threads, never on Swift's cooperative pool: LMDB's writer lock has no
/// timeout, and a peer stopped while holding it would otherwise freeze the process.
public final class LMDBEnvironment: @unchecked Sendable {
    public enum Durability: String, Sendable {
        /// fsync on every commit: nothing committed is lost even on power loss.
        case full
        /// Commits are not synced one by one (`MDB_NOSYNC`); the OS writes pages back and
        /// `sync()` flushes. A power loss may lose or damage recent state, so this is only for
        /// volatile data that may be wiped (see `SharedStateLayout`).
        case relaxed
    }

    public struct Configuration: Sendable {
        public var path: String
        public var mapSizeBytes: Int
        public var maxReaders: Int
        public var durability: Durability
        public var databases: [String]
        /// Mode of the data and lock files; the directory gets the matching search bits.
        public var fileMode: mode_t
        /// Opened `MDB_RDONLY` (for `llmgw status`): nothing is created, no write transaction is
        /// ever begun (so a peer stopped inside one cannot block the open), and databases that
        /// do not exist yet are simply absent (`hasDatabase`). The PID is still claimed: LMDB
        /// takes the reader-lock byte for read transactions either way.
        public var readOnly: Bool

        public init(
            path: String,
            mapSizeBytes: Int = 32 << 30,
            maxReaders: Int = 1024,
            durability: Durability = .relaxed,
            databases: [String] = ["cache", "cache_expiry", "limits", "keys", "spend", "health", "meta"],
            fileMode: mode_t = 0o600,
            readOnly: Bool = false
        ) {
            self.path = path
            self.mapSizeBytes = mapSizeBytes
            self.maxReaders = maxReaders
            self.durability = durability
            self.databases = databases
            self.fileMode = fileMode
            self.readOnly = readOnly
        }
    }

    // `env` is safe to use from any thread with MDB_NOTLS; LMDB serialises writers itself.
    private let env: OpaquePointer
    private let handles: [String: MDB_dbi]
    public let configuration: Configuration
    /// Held shared by every transaction, exclusively by `mdb_env_set_mapsize`.
    private let mapLock: UnsafeMutablePointer<pthread_rwlock_t>
    /// A second descriptor of `lock.mdb`, for `fcntl(F_GETLK)` liveness checks. Never closed
    /// before the environment: closing any descriptor of the file would drop our reader lock.
    private let lockFileDescriptor: Int32
    /// Our PID, whose reader-lock byte this process holds while the environment is open.
    public let pid: Int32

    /// How long a transaction waits for a map resize to get the process to itself.
    static let resizeWait: Duration = .seconds(5)

    public init(_ configuration: Configuration) throws(StoreError) {
        self.configuration = configuration
        self.pid = getpid()
        if !configuration.readOnly { try Self.prepareDirectory(configuration.path, fileMode: configuration.fileMode) }
        var environment: OpaquePointer?
        try check(mdb_env_create(&environment), "mdb_env_create")
        guard let environment else { throw StoreError(.io, "mdb_env_create returned no environment") }
        let lock = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
        var lockDescriptor: Int32 = -1
        do throws(StoreError) {
            try check(mdb_env_set_mapsize(environment, configuration.mapSizeBytes), "mdb_env_set_mapsize")
            try check(mdb_env_set_maxreaders(environment, UInt32(configuration.maxReaders)), "mdb_env_set_maxreaders")
            try check(
                mdb_env_set_maxdbs(environment, MDB_dbi(max(configuration.databases.count, 1))), "mdb_env_set_maxdbs")
            var flags = UInt32(MDB_NOTLS) | UInt32(MDB_NORDAHEAD)
            if configuration.durability == .relaxed { flags |= UInt32(MDB_NOSYNC) }
            if configuration.readOnly { flags |= UInt32(MDB_RDONLY) }
            try check(
                mdb_env_open(environment, configuration.path, flags, configuration.fileMode),
                "mdb_env_open \(configuration.path)")
            lockDescriptor = open(configuration.path + "/lock.mdb", O_RDWR | O_CLOEXEC)
            guard lockDescriptor >= 0 else {
                throw StoreError(.io, "cannot open \(configuration.path)/lock.mdb: \(String(cString: strerror(errno)))")
            }
            try Self.claimPID(environment, pid: pid, path: configuration.path)
            var handles: [String: MDB_dbi] = [:]
            var transaction: OpaquePointer?
            let readOnly = configuration.readOnly
            try check(
                mdb_txn_begin(environment, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &transaction), "mdb_txn_begin")
            for name in configuration.databases {
                var handle: MDB_dbi = 0
                let code = mdb_dbi_open(transaction, name, readOnly ? 0 : UInt32(MDB_CREATE), &handle)
                if readOnly && code == MDB_NOTFOUND { continue }  // not created yet: absent
                guard code == MDB_SUCCESS else {
                    mdb_txn_abort(transaction)
                    throw StoreError(lmdb: code, "mdb_dbi_open \(name)")
                }
                handles[name] = handle
            }
            try check(mdb_txn_commit(transaction), "mdb_txn_commit")
            self.handles = handles
        } catch {
            mdb_env_close(environment)
            if lockDescriptor >= 0 { close(lockDescriptor) }
            pthread_rwlock_destroy(lock)
            lock.deallocate()
            throw error
        }
        self.env = environment
        self.mapLock = lock
        self.lockFileDescriptor = lockDescriptor
    }

    deinit {
        mdb_env_close(env)
        close(lockFileDescriptor)
        pthread_rwlock_destroy(mapLock)
        mapLock.deallocate()
    }

    /// Creates the state directory owner-only (or as `fileMode` allows) and refuses a path that
    /// is not a directory.
    static func prepareDirectory(_ path: String, fileMode: mode_t) throws(StoreError) {
        // Search bits wherever the files are readable: 0600 → 0700, 0660 → 0770.
        let directoryMode = fileMode | ((fileMode & 0o444) >> 2)
        if mkdir(path, directoryMode) != 0 && errno != EEXIST {
            throw StoreError(.io, "cannot create state directory \(path): \(String(cString: strerror(errno)))")
        }
        var status = stat()
        guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else {
            throw StoreError(.io, "state path \(path) is not a directory")
        }
    }

    /// Makes sure no other live opener holds our PID's reader-lock byte, and that no reader slot
    /// left by a dead process carries our PID; then takes the byte (LMDB keeps it until close).
    private static func claimPID(_ environment: OpaquePointer, pid: Int32, path: String) throws(StoreError) {
        var dead: Int32 = 0
        try check(mdb_reader_check(environment, &dead), "mdb_reader_check")
        if ReaderTable.pids(environment).contains(pid) {
            throw StoreError(
                .pidInUse,
                "a reader slot of \(path) carries this process's PID \(pid) (left by a process of another PID namespace)"
            )
        }
        var transaction: OpaquePointer?
        let code = mdb_txn_begin(environment, nil, UInt32(MDB_RDONLY), &transaction)
        if code == EAGAIN || code == EACCES {
            throw StoreError(
                .pidInUse, "another process using \(path) has this process's PID \(pid) (another PID namespace)")
        }
        try check(code, "mdb_txn_begin (read)")
        mdb_txn_abort(transaction)
    }

    /// The handle of a named database opened at start.
    public func database(_ name: String) -> LMDBDatabase {
        guard let handle = handles[name] else { preconditionFailure("database \(name) was not declared at open") }
        return LMDBDatabase(handle: handle, name: name)
    }

    /// Whether the named database is open (always, unless `readOnly` found it missing).
    public func hasDatabase(_ name: String) -> Bool { handles[name] != nil }

    /// The open databases with their entry counts, in the order declared, from one read
    /// transaction.
    public func databaseEntries() throws -> [(name: String, entries: Int)] {
        try withReadTransaction { transaction in
            try configuration.databases.compactMap { name in
                guard let handle = handles[name] else { return nil }
                return (name, try transaction.count(LMDBDatabase(handle: handle, name: name)))
            }
        }
    }

    /// Clears reader slots left by crashed processes; returns how many were cleared.
    @discardableResult
    public func clearStaleReaders() throws(StoreError) -> Int {
        var dead: Int32 = 0
        try check(mdb_reader_check(env, &dead), "mdb_reader_check")
        return Int(dead)
    }

    /// True when `pid` is this process, or another process holds that PID's reader-lock byte,
    /// i.e. it has this environment open. Sound across PID namespaces because `init` never lets
    /// two live openers share a PID.
    public func isOpenerAlive(_ pid: Int32) -> Bool {
        guard pid > 0 else { return false }
        if pid == self.pid { return true }
        var query = flock()
        query.l_type = Int16(F_WRLCK)
        query.l_whence = Int16(SEEK_SET)
        query.l_start = off_t(pid)
        query.l_len = 1
        guard fcntl(lockFileDescriptor, F_GETLK, &query) == 0 else { return true }  // unsure: assume alive
        return query.l_type != Int16(F_UNLCK)
    }

    public func withReadTransaction<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        try withTransaction(flags: UInt32(MDB_RDONLY)) { transaction in
            defer { mdb_txn_abort(transaction) }
            return try body(LMDBTransaction(pointer: transaction, writable: false))
        }
    }

    /// Runs `body` in a write transaction (LMDB allows one writer at a time, across processes).
    /// Commits when `body` returns, aborts when it throws. When the map is full, `onMapFull` is
    /// given a fresh transaction to free space (e.g. evict cache entries) and `body` is retried
    /// once.
    ///
    /// LMDB reuses pages freed by transaction N only from transaction N+2 on, so a small write
    /// to `meta` is committed between the eviction and the retry. The real protection is to keep
    /// the cache below a size cap with room to spare, so that a full map stays an exception.
    public func withWriteTransaction<T>(
        onMapFull: ((LMDBTransaction) throws -> Void)? = nil,
        _ body: (LMDBTransaction) throws -> T
    ) throws -> T {
        do {
            return try writeOnce(body)
        } catch let error as StoreError where error.code == .mapFull && onMapFull != nil {
            try writeOnce { try onMapFull!($0) }
            // Pages freed by the eviction become reusable two transactions later: commit a tiny
            // bookkeeping write in between (it fits in the slack a full map still has).
            if let meta = handles["meta"] {
                try? writeOnce {
                    try $0.put(LMDBDatabase(handle: meta, name: "meta"), Array("last_eviction".utf8), [1])
                }
            }
            return try writeOnce(body)
        }
    }

    private func writeOnce<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        try withTransaction(flags: 0) { transaction in
            let result: T
            do {
                result = try body(LMDBTransaction(pointer: transaction, writable: true))
            } catch {
                mdb_txn_abort(transaction)
                throw error
            }
            try check(mdb_txn_commit(transaction), "mdb_txn_commit")
            return result
        }
    }

    /// One write transaction shared by many jobs (group commit, see `LMDBExecutor`): `body` runs
    /// each job in a nested transaction of it (`LMDBWriteBatch.nested`), so one job's failure
    /// aborts only that job's changes, and the whole commits once when `body` returns (aborts when
    /// it throws). Throws only what beginning or committing the outer transaction throws, or what
    /// `body` throws. No map-full retry here: the executor handles a full map job by job.
    func withWriteBatch(_ body: (LMDBWriteBatch) throws -> Void) throws {
        try withTransaction(flags: 0) { transaction in
            do {
                try body(LMDBWriteBatch(environment: env, parent: transaction))
            } catch {
                mdb_txn_abort(transaction)
                throw error
            }
            try check(mdb_txn_commit(transaction), "mdb_txn_commit (batch)")
        }
    }

    /// Begins a transaction under `mapLock` (shared), adopting a map grown by another opener
    /// (`MDB_MAP_RESIZED`) first when needed, and runs `body` with it. `body` ends the
    /// transaction.
    private func withTransaction<T>(flags: UInt32, _ body: (OpaquePointer) throws -> T) throws -> T {
        for _ in 0..<3 {
            pthread_rwlock_rdlock(mapLock)
            var transaction: OpaquePointer?
            let code = mdb_txn_begin(env, nil, flags, &transaction)
            if code == MDB_MAP_RESIZED {
                pthread_rwlock_unlock(mapLock)
                try adoptMapSize()
                continue
            }
            defer { pthread_rwlock_unlock(mapLock) }
            if code == MDB_READERS_FULL {
                throw StoreError(
                    .readersFull,
                    "LMDB reader table of \(configuration.path) is full (\(configuration.maxReaders) slots): raise "
                        + "state.max_readers and restart every sidecar (the first opener sizes the table)")
            }
            try check(code, flags & UInt32(MDB_RDONLY) != 0 ? "mdb_txn_begin (read)" : "mdb_txn_begin (write)")
            return try body(transaction!)
        }
        throw StoreError(.other(MDB_MAP_RESIZED), "the map of \(configuration.path) kept changing size")
    }

    /// Adopts the map size another process set, once no other thread is inside a transaction.
    private func adoptMapSize() throws(StoreError) {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)
        deadline.tv_sec += Int(Self.resizeWait.components.seconds)
        guard pthread_rwlock_timedwrlock(mapLock, &deadline) == 0 else {
            throw StoreError(.timeout, "timed out waiting to adopt the grown map of \(configuration.path)")
        }
        defer { pthread_rwlock_unlock(mapLock) }
        try check(mdb_env_set_mapsize(env, 0), "mdb_env_set_mapsize")
    }

    /// Flushes the data file to disk (for `relaxed` environments, which do not sync commits).
    public func sync() throws(StoreError) {
        try check(mdb_env_sync(env, 1), "mdb_env_sync")
    }

    /// Bytes of the map in use (pages × page size), for metrics and eviction decisions.
    public func usedBytes() throws(StoreError) -> Int {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        try check(mdb_env_info(env, &info), "mdb_env_info")
        try check(mdb_env_stat(env, &stat), "mdb_env_stat")
        return (Int(info.me_last_pgno) + 1) * Int(stat.ms_psize)
    }

    /// The map size currently in force for this process.
    public func mapSize() -> Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }
}

/// Reads LMDB's reader table through `mdb_reader_list` (the only public view of it).
enum ReaderTable {
    /// The PIDs of every occupied reader slot.
    static func pids(_ environment: OpaquePointer) -> Set<Int32> {
        let collector = Collector()
        let context = Unmanaged.passUnretained(collector).toOpaque()
        mdb_reader_list(
            environment,
            { message, context in
                guard let message, let context else { return 0 }
                let collector = Unmanaged<Collector>.fromOpaque(context).takeUnretainedValue()
                // Lines are "    pid     thread     txnid"; the first is a header.
                let fields = String(cString: message).split(separator: " ", omittingEmptySubsequences: true)
                if let first = fields.first, let pid = Int32(first) { collector.pids.insert(pid) }
                return 0
            },
            context
        )
        return collector.pids
    }

    private final class Collector {
        var pids: Set<Int32> = []
    }
}

/// The outer transaction of a group commit (`LMDBEnvironment.withWriteBatch`). While a nested
/// transaction is open LMDB allows nothing else on the outer one, so it is only reachable through
/// `nested`. (Nested write transactions need an environment without `MDB_WRITEMAP`, which this
/// one never sets.)
struct LMDBWriteBatch {
    let environment: OpaquePointer
    let parent: OpaquePointer

    /// Runs `body` in a transaction nested in the batch's: its changes join the batch when `body`
    /// returns and are dropped when it throws, leaving the rest of the batch as it was. They
    /// become visible to others (and durable) only when the whole batch commits.
    func nested<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        var child: OpaquePointer?
        try check(mdb_txn_begin(environment, parent, 0, &child), "mdb_txn_begin (nested)")
        let result: T
        do {
            result = try body(LMDBTransaction(pointer: child!, writable: true))
        } catch {
            mdb_txn_abort(child)
            throw error
        }
        // A failed commit has already freed the child (LMDB aborts it) and left the parent as it was.
        try check(mdb_txn_commit(child), "mdb_txn_commit (nested)")
        return result
    }
}

/// A named database inside the environment.
public struct LMDBDatabase: Sendable {
    let handle: MDB_dbi
    public let name: String
}

func check(_ code: Int32, _ operation: String) throws(StoreError) {
    guard code == MDB_SUCCESS else { throw StoreError(lmdb: code, operation) }
}

import CLMDB
import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// An LMDB environment shared by every llmgw process on the host (`state.path`).
///
/// Opened with `MDB_NOTLS` so read transactions are not tied to threads, and with `MDB_NOSYNC`
/// when `durability` is `.relaxed`: commits are then atomic and consistent between processes (the
/// map is shared memory) but the last commits before a *machine* crash may be lost — acceptable
/// for counters and a cache, and much faster than an fsync per request. `.full` syncs every
/// commit. A crashed *process* loses nothing either way.
///
/// Transactions are scoped closures: a write transaction commits when its closure returns and
/// aborts when it throws. They are synchronous and must never span an `await`.
public final class LMDBEnvironment: @unchecked Sendable {
    public enum Durability: String, Sendable {
        /// fsync on every commit.
        case full
        /// No fsync on commit (the OS writes the pages back); survives process crashes.
        case relaxed
    }

    public struct Configuration: Sendable {
        public var path: String
        public var mapSizeBytes: Int
        public var maxReaders: Int
        public var durability: Durability
        public var databases: [String]

        public init(
            path: String,
            mapSizeBytes: Int = 1 << 30,
            maxReaders: Int = 512,
            durability: Durability = .relaxed,
            databases: [String] = ["cache", "cache_expiry", "limits", "keys", "spend", "health", "meta"]
        ) {
            self.path = path
            self.mapSizeBytes = mapSizeBytes
            self.maxReaders = maxReaders
            self.durability = durability
            self.databases = databases
        }
    }

    // `env` is safe to use from any thread with MDB_NOTLS; LMDB serialises writers itself.
    private let env: OpaquePointer
    private let handles: [String: MDB_dbi]
    public let configuration: Configuration

    public init(_ configuration: Configuration) throws(StoreError) {
        self.configuration = configuration
        if mkdir(configuration.path, 0o750) != 0 && errno != EEXIST {
            throw StoreError(
                .io, "cannot create state directory \(configuration.path): \(String(cString: strerror(errno)))")
        }
        var environment: OpaquePointer?
        try check(mdb_env_create(&environment), "mdb_env_create")
        guard let environment else { throw StoreError(.io, "mdb_env_create returned no environment") }
        do throws(StoreError) {
            try check(mdb_env_set_mapsize(environment, configuration.mapSizeBytes), "mdb_env_set_mapsize")
            try check(mdb_env_set_maxreaders(environment, UInt32(configuration.maxReaders)), "mdb_env_set_maxreaders")
            try check(
                mdb_env_set_maxdbs(environment, MDB_dbi(max(configuration.databases.count, 1))), "mdb_env_set_maxdbs")
            var flags = UInt32(MDB_NOTLS) | UInt32(MDB_NORDAHEAD)
            if configuration.durability == .relaxed { flags |= UInt32(MDB_NOSYNC) }
            try check(mdb_env_open(environment, configuration.path, flags, 0o640), "mdb_env_open \(configuration.path)")
            var dead: Int32 = 0
            try check(mdb_reader_check(environment, &dead), "mdb_reader_check")
            var handles: [String: MDB_dbi] = [:]
            var transaction: OpaquePointer?
            try check(mdb_txn_begin(environment, nil, 0, &transaction), "mdb_txn_begin")
            for name in configuration.databases {
                var handle: MDB_dbi = 0
                let code = mdb_dbi_open(transaction, name, UInt32(MDB_CREATE), &handle)
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
            throw error
        }
        self.env = environment
    }

    deinit {
        mdb_env_close(env)
    }

    /// The handle of a named database opened at start.
    public func database(_ name: String) -> LMDBDatabase {
        guard let handle = handles[name] else { preconditionFailure("database \(name) was not declared at open") }
        return LMDBDatabase(handle: handle, name: name)
    }

    /// Clears reader slots left by crashed processes; returns how many were cleared.
    @discardableResult
    public func clearStaleReaders() throws(StoreError) -> Int {
        var dead: Int32 = 0
        try check(mdb_reader_check(env, &dead), "mdb_reader_check")
        return Int(dead)
    }

    public func withReadTransaction<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        var transaction: OpaquePointer?
        try check(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &transaction), "mdb_txn_begin (read)")
        defer { mdb_txn_abort(transaction) }
        return try body(LMDBTransaction(pointer: transaction!, writable: false))
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
        var transaction: OpaquePointer?
        var code = mdb_txn_begin(env, nil, 0, &transaction)
        if code == MDB_MAP_RESIZED {
            // Another process grew the map: adopt its size and try again.
            try check(mdb_env_set_mapsize(env, 0), "mdb_env_set_mapsize")
            code = mdb_txn_begin(env, nil, 0, &transaction)
        }
        try check(code, "mdb_txn_begin (write)")
        let result: T
        do {
            result = try body(LMDBTransaction(pointer: transaction!, writable: true))
        } catch {
            mdb_txn_abort(transaction)
            throw error
        }
        try check(mdb_txn_commit(transaction), "mdb_txn_commit")
        return result
    }

    /// Bytes of the map in use (pages × page size), for metrics and eviction decisions.
    public func usedBytes() throws(StoreError) -> Int {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        try check(mdb_env_info(env, &info), "mdb_env_info")
        try check(mdb_env_stat(env, &stat), "mdb_env_stat")
        return (Int(info.me_last_pgno) + 1) * Int(stat.ms_psize)
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

import GatewayCore
import Synchronization

/// The exact-match response cache in the shared LMDB environment, used by every llmgw process on
/// the host.
///
/// - `cache`: digest (32 bytes) → the entry in `CachedResponseCoding`'s versioned binary form.
/// - `cache_expiry`: storedAtMillis (8 bytes big-endian) + digest → expiresAtMillis (8 bytes
///   big-endian). Keys sort by age, so eviction takes the oldest first; the value lets the sweep
///   test expiry without reading the entry.
/// - `meta` / `cache_bytes`: the running total of `cost(of:)` over every entry (8 bytes
///   big-endian), changed in the same write transaction as every insert and delete, so the size
///   cap holds exactly across processes.
///
/// An entry costs its encoded size plus `entryOverheadBytes` (both keys and the index value).
/// The total never goes below zero (bytes nobody counted, e.g. an entry written by hand, are
/// simply not subtracted).
/// `lookup` is one read transaction. `store` and `sweepExpired` are single short write
/// transactions; `store` evicts the oldest entries until the new one fits. An entry that does not
/// decode (corrupt, or written by a newer version) is a miss; this process deletes it in its next
/// write.
public final class LMDBResponseCache: ResponseCacheBackend {
    public struct Configuration: Sendable {
        /// Cap on the sum of entry costs. Clamped to half the map size so that a full map (which
        /// costs an extra eviction and retry) stays an exception.
        public var maxBytes: Int
        /// Entries costing more than this are not stored (silently).
        public var maxEntryBytes: Int

        /// The names of its databases and `meta` keys: `cache` (`cache`, `cache_expiry`,
        /// `cache_bytes`, `cache_sweep_cursor`), or `responses` for the store of Responses answers.
        public var namespace: String

        public init(maxBytes: Int = 256 << 20, maxEntryBytes: Int = 8 << 20, namespace: String = "cache") {
            self.maxBytes = maxBytes
            self.maxEntryBytes = maxEntryBytes
            self.namespace = namespace
        }
    }

    /// Bytes an entry costs beyond its encoded value: the 32-byte key in `cache`, the 40-byte key
    /// and 8-byte value in `cache_expiry`.
    public static let entryOverheadBytes = 80

    /// The effective size cap (after clamping to half the map).
    public let maxBytes: Int
    public let maxEntryBytes: Int

    private let executor: LMDBExecutor
    private let cache: LMDBDatabase
    private let expiry: LMDBDatabase
    private let meta: LMDBDatabase
    /// Keys whose entries failed to decode on lookup, deleted by the next `store`.
    private let undecodable = Mutex<Set<CacheKey>>([])

    private let bytesKey: [UInt8]
    private let sweepCursorKey: [UInt8]

    public init(executor: LMDBExecutor, configuration: Configuration = .init()) {
        self.executor = executor
        let environment = executor.environment
        let namespace = configuration.namespace
        self.cache = environment.database(namespace)
        self.expiry = environment.database(namespace + "_expiry")
        self.bytesKey = Array((namespace + "_bytes").utf8)
        self.sweepCursorKey = Array((namespace + "_sweep_cursor").utf8)
        self.meta = environment.database("meta")
        self.maxBytes = max(0, min(configuration.maxBytes, environment.configuration.mapSizeBytes / 2))
        self.maxEntryBytes = configuration.maxEntryBytes
    }

    /// What an entry counts against `maxBytes`.
    public static func cost(of response: CachedResponse) -> Int {
        cost(valueBytes: CachedResponseCoding.encode(response).count)
    }

    static func cost(valueBytes: Int) -> Int { valueBytes + entryOverheadBytes }

    public func lookup(_ key: CacheKey, nowMillis: Int64) async throws -> CachedResponse? {
        guard let bytes = try await executor.read({ [cache] in try $0.get(cache, key.digest) }) else { return nil }
        guard let response = CachedResponseCoding.decode(bytes) else {
            undecodable.withLock { keys in
                if keys.count < 1024 { keys.insert(key) }
            }
            return nil
        }
        return nowMillis < response.expiresAtMillis ? response : nil
    }

    public func store(_ key: CacheKey, _ response: CachedResponse) async throws {
        let value = CachedResponseCoding.encode(response)
        let cost = Self.cost(valueBytes: value.count)
        guard cost <= maxEntryBytes, cost <= maxBytes else { return }
        let purge = undecodable.withLock { keys in
            defer { keys.removeAll() }
            return keys
        }
        let freeSpace: @Sendable (LMDBTransaction) throws -> Void = { [self] transaction in
            // The map is full although the cache is under its cap (other databases grew, or the
            // cap is close to the map size): give back half of the cache, at least room for two
            // entries like this one.
            let total = try self.totalBytes(transaction)
            let budget = max(0, min(total / 2, total - 2 * cost))
            // Dirty the `meta` page before the deletions use up the map's last free pages; the
            // final write then rewrites it in place.
            try self.setTotalBytes(total, transaction)
            try self.setTotalBytes(try self.evictOldest(transaction, total: total, downTo: budget), transaction)
        }
        try await executor.write(onMapFull: freeSpace) { [self] transaction in
            var total = try totalBytes(transaction)
            for stale in purge where stale != key {
                if let bytes = try transaction.get(cache, stale.digest), CachedResponseCoding.decode(bytes) == nil {
                    total = max(0, total - (try remove(stale, transaction)))
                }
            }
            total = max(0, total - (try remove(key, transaction)))
            total = try evictOldest(transaction, total: total, downTo: maxBytes - cost)
            try transaction.put(cache, key.digest, value)
            try transaction.put(
                expiry, Self.indexKey(response.storedAtMillis, key.digest), Self.int64Bytes(response.expiresAtMillis))
            try setTotalBytes(total + cost, transaction)
        }
    }

    @discardableResult
    public func sweepExpired(nowMillis: Int64, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        let scanBudget = max(limit * 8, 256)
        return try await executor.write { [self] transaction in
            // Entries are indexed by age, not expiry, so with mixed TTLs an old long-lived entry
            // may precede expired ones: scan a bounded window per call and resume where the last
            // call stopped (`cache_sweep_cursor`), wrapping to the oldest at the end.
            let start = try transaction.get(meta, sweepCursorKey)
            var window: [(key: [UInt8], value: [UInt8])] = []
            var reachedEnd = true
            try transaction.forEach(expiry, from: start) { key, value in
                // Anything stored after `nowMillis` has not expired yet, nor has anything newer.
                if let storedAt = CachedResponseCoding.int64(bigEndian: key.prefix(8)), storedAt > nowMillis {
                    return false
                }
                window.append((key, value))
                if window.count == scanBudget {
                    reachedEnd = false
                    return false
                }
                return true
            }
            let initialTotal = try totalBytes(transaction)
            var total = initialTotal
            var removed = 0
            var resumeAt: [UInt8]?
            for (index, entry) in window.enumerated() {
                guard try isExpired(entry.key, indexValue: entry.value, nowMillis: nowMillis, transaction) else {
                    continue
                }
                let freed = try evict(indexKey: entry.key, transaction)
                total = max(0, total - freed)
                if freed > 0 { removed += 1 }
                if removed == limit {
                    if index + 1 < window.count { resumeAt = window[index + 1].key }
                    break
                }
            }
            if resumeAt == nil && !reachedEnd { resumeAt = window.last.map { $0.key } }
            if let resumeAt {
                try transaction.put(meta, sweepCursorKey, resumeAt)
            } else if start != nil {
                try transaction.delete(meta, sweepCursorKey)
            }
            if total != initialTotal { try setTotalBytes(total, transaction) }
            return removed
        }
    }

    /// Deletes the entry for `key`; true when there was one.
    @discardableResult
    public func remove(_ key: CacheKey) async throws -> Bool {
        try await executor.write { [self] transaction in
            let freed = try remove(key, transaction)
            guard freed > 0 else { return false }
            try setTotalBytes(max(0, try totalBytes(transaction) - freed), transaction)
            return true
        }
    }

    /// The running total of entry costs (`cache_bytes`).
    public func totalBytes() async throws -> Int {
        try await executor.read { [self] in try totalBytes($0) }
    }

    public func usedBytes() async throws -> Int { try await totalBytes() }

    /// Number of entries in `cache`, expired ones included.
    public func entryCount() async throws -> Int {
        try await executor.read { [cache] in try $0.count(cache) }
    }

    // MARK: - Inside a write transaction

    /// Deletes the entry for `key` and its index key; returns the bytes it accounted for.
    private func remove(_ key: CacheKey, _ transaction: LMDBTransaction) throws -> Int {
        guard let old = try transaction.get(cache, key.digest) else { return 0 }
        try transaction.delete(cache, key.digest)
        if let storedAt = CachedResponseCoding.storedAtMillis(old) {
            try transaction.delete(expiry, Self.indexKey(storedAt, key.digest))
        }
        return Self.cost(valueBytes: old.count)
    }

    /// Evicts the oldest entries until `total` ≤ `budget`; returns the new total.
    private func evictOldest(_ transaction: LMDBTransaction, total: Int, downTo budget: Int) throws -> Int {
        var total = total
        while total > budget {
            var batch: [[UInt8]] = []
            try transaction.forEach(expiry) { key, _ in
                batch.append(key)
                return batch.count < 64
            }
            guard !batch.isEmpty else {
                // Nothing indexed is left: the total drifted (e.g. bytes written by hand). Recount.
                return try recount(transaction)
            }
            for key in batch where total > budget {
                total = max(0, total - (try evict(indexKey: key, transaction)))
            }
        }
        return total
    }

    /// Deletes an index key and, unless it is stale, the entry it points at; returns the bytes
    /// freed.
    private func evict(indexKey: [UInt8], _ transaction: LMDBTransaction) throws -> Int {
        try transaction.delete(expiry, indexKey)
        let digest = Array(indexKey.dropFirst(8))
        guard let value = try transaction.get(cache, digest) else { return 0 }
        if let storedAt = CachedResponseCoding.storedAtMillis(value),
            storedAt != CachedResponseCoding.int64(bigEndian: indexKey.prefix(8))
        {
            return 0  // the entry was replaced; its current index key is elsewhere
        }
        try transaction.delete(cache, digest)
        return Self.cost(valueBytes: value.count)
    }

    private func isExpired(
        _ indexKey: [UInt8], indexValue: [UInt8], nowMillis: Int64, _ transaction: LMDBTransaction
    ) throws -> Bool {
        if let expiresAt = CachedResponseCoding.int64(bigEndian: indexValue) { return expiresAt <= nowMillis }
        // A malformed index value: ask the entry itself; an undecodable entry goes too.
        guard let value = try transaction.get(cache, Array(indexKey.dropFirst(8))) else { return true }
        return CachedResponseCoding.decode(value).map { $0.expiresAtMillis <= nowMillis } ?? true
    }

    private func recount(_ transaction: LMDBTransaction) throws -> Int {
        var total = 0
        try transaction.forEach(cache) { _, value in
            total += Self.cost(valueBytes: value.count)
            return true
        }
        return total
    }

    private func totalBytes(_ transaction: LMDBTransaction) throws -> Int {
        guard let bytes = try transaction.get(meta, bytesKey) else { return 0 }
        return Int(CachedResponseCoding.int64(bigEndian: bytes) ?? 0)
    }

    private func setTotalBytes(_ total: Int, _ transaction: LMDBTransaction) throws {
        try transaction.put(meta, bytesKey, Self.int64Bytes(Int64(max(total, 0))))
    }

    static func indexKey(_ storedAtMillis: Int64, _ digest: [UInt8]) -> [UInt8] {
        var key = int64Bytes(storedAtMillis)
        key.append(contentsOf: digest)
        return key
    }

    private static func int64Bytes(_ value: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8)
        CachedResponseCoding.appendInt64(value, to: &bytes)
        return bytes
    }
}

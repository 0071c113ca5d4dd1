import GatewayCore

#if canImport(Glibc)
    import Glibc
#endif

/// The semantic cache's vectors in the shared LMDB environment, used by every llmgw process on the
/// host (`SemanticIndexBackend`).
///
/// - `semantic`: namespace (32 bytes) + answer key (32) → the entry, version 1, big-endian:
///   version (1 byte, 1), storedAtMillis (8), expiresAtMillis (8), scale (`Float32` bits, 4),
///   dimensions (2), then one `Int8` per dimension. Keys sort by namespace, so a lookup reads
///   exactly its own namespace's entries, in place in the map (no copy per entry).
/// - `semantic_age`: storedAtMillis (8) + namespace + answer key → expiresAtMillis (8). Sorted by
///   age: eviction past `maxEntries` takes the oldest of any namespace; the sweep tests expiry
///   without reading the entry.
///
/// A lookup is one read transaction and an exact search (a dot product per candidate);
/// `insert`, `remove` and `sweepExpired` are single short write transactions. An entry that does
/// not decode (another version) is never a match; the sweep or eviction removes it.
public final class LMDBSemanticIndex: SemanticIndexBackend {
    static let version: UInt8 = 1
    static let headerBytes = 23

    private let executor: LMDBExecutor
    private let entries: LMDBDatabase
    private let ages: LMDBDatabase
    private let meta: LMDBDatabase
    private let sweepCursorKey = Array("semantic_sweep_cursor".utf8)

    public init(executor: LMDBExecutor) {
        self.executor = executor
        let environment = executor.environment
        self.entries = environment.database("semantic")
        self.ages = environment.database("semantic_age")
        self.meta = environment.database("meta")
    }

    public func nearest(
        _ vector: SemanticVector, namespace: CacheKey, threshold: Float, limit: Int, nowMillis: Int64
    ) async throws -> [SemanticMatch] {
        guard limit > 0 else { return [] }
        return try await executor.read { [entries] transaction in
            try Self.search(
                transaction, entries, vector, namespace: namespace, threshold: threshold, limit: limit,
                nowMillis: nowMillis)
        }
    }

    /// The exact search over `namespace` inside a read transaction (also used by the benchmark).
    static func search(
        _ transaction: LMDBTransaction, _ entries: LMDBDatabase, _ vector: SemanticVector, namespace: CacheKey,
        threshold: Float, limit: Int, nowMillis: Int64
    ) throws -> [SemanticMatch] {
        let prefix = namespace.digest
        let dimensions = vector.dimensions
        var best: [SemanticMatch] = []
        try prefix.withUnsafeBytes { prefixBytes in
            try vector.values.withUnsafeBufferPointer { query in
                try transaction.forEachInPlace(entries, from: prefix) { key, value in
                    guard key.count == 64, memcmp(key.baseAddress!, prefixBytes.baseAddress!, 32) == 0 else {
                        return false
                    }
                    guard value.count == headerBytes + dimensions, value[0] == version,
                        nowMillis
                            < Int64(
                                bitPattern: UInt64(bigEndian: value.loadUnaligned(fromByteOffset: 9, as: UInt64.self))),
                        Int(UInt16(bigEndian: value.loadUnaligned(fromByteOffset: 21, as: UInt16.self))) == dimensions
                    else { return true }
                    let scale = Float(
                        bitPattern: UInt32(bigEndian: value.loadUnaligned(fromByteOffset: 17, as: UInt32.self)))
                    let stored = UnsafeBufferPointer(
                        start: value.baseAddress!.advanced(by: headerBytes).assumingMemoryBound(to: Int8.self),
                        count: dimensions)
                    guard let dot = SemanticVector.dot(query, stored) else { return true }
                    let similarity = Float(dot) * scale * vector.scale
                    guard similarity >= threshold else { return true }
                    if best.count == limit {
                        guard similarity > best[limit - 1].similarity else { return true }
                        best.removeLast()
                    }
                    let match = SemanticMatch(
                        answerKey: CacheKey(digest: Array(key[32..<64])), similarity: similarity)
                    best.insert(match, at: best.firstIndex { $0.similarity < similarity } ?? best.count)
                    return true
                }
            }
        }
        return best
    }

    public func insert(_ entry: SemanticEntry, namespace: CacheKey, maxEntries: Int) async throws {
        guard entry.vector.dimensions > 0, entry.vector.dimensions <= Int(UInt16.max) else { return }
        let key = namespace.digest + entry.answerKey.digest
        let value = Self.encode(entry)
        let freeSpace: @Sendable (LMDBTransaction) throws -> Void = { [self] transaction in
            // The map is full: give back half of the entries, oldest first.
            try evictOldest(transaction, downTo: try transaction.count(entries) / 2)
        }
        try await executor.write(onMapFull: freeSpace) { [self] transaction in
            try removeEntry(key, transaction)
            try evictOldest(transaction, downTo: max(0, maxEntries - 1))
            try transaction.put(entries, key, value)
            try transaction.put(
                ages, Self.int64Bytes(entry.storedAtMillis) + key, Self.int64Bytes(entry.expiresAtMillis))
        }
    }

    public func remove(namespace: CacheKey, answerKey: CacheKey) async throws -> Bool {
        let key = namespace.digest + answerKey.digest
        return try await executor.write { [self] transaction in try removeEntry(key, transaction) }
    }

    public func sweepExpired(nowMillis: Int64, limit: Int) async throws -> Int {
        guard limit > 0 else { return 0 }
        let scanBudget = max(limit * 8, 256)
        return try await executor.write { [self] transaction in
            // Indexed by age, not expiry (TTLs differ): scan a bounded window per call and resume
            // where the last call stopped, wrapping to the oldest at the end.
            let start = try transaction.get(meta, sweepCursorKey)
            var window: [(key: [UInt8], expiresAt: Int64?)] = []
            var reachedEnd = true
            try transaction.forEach(ages, from: start) { key, value in
                if key.count == 72, Self.int64(key, at: 0) > nowMillis { return false }
                window.append((key, value.count == 8 ? Self.int64(value, at: 0) : nil))
                if window.count == scanBudget {
                    reachedEnd = false
                    return false
                }
                return true
            }
            var removed = 0
            var resumeAt: [UInt8]?
            for (index, item) in window.enumerated() where (item.expiresAt ?? .min) <= nowMillis {
                try transaction.delete(ages, item.key)
                if item.key.count == 72 { try transaction.delete(entries, Array(item.key.dropFirst(8))) }
                removed += 1
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
            return removed
        }
    }

    public func entryCount() async throws -> Int {
        try await executor.read { [entries] in try $0.count(entries) }
    }

    // MARK: - Inside a write transaction

    /// Deletes the entry under `key` (namespace + answer key) and its age key; true when there was one.
    @discardableResult
    private func removeEntry(_ key: [UInt8], _ transaction: LMDBTransaction) throws -> Bool {
        guard let old = try transaction.get(entries, key) else { return false }
        try transaction.delete(entries, key)
        if old.count >= Self.headerBytes, old[0] == Self.version {
            try transaction.delete(ages, Array(old[1..<9]) + key)
        }
        return true
    }

    /// Evicts the oldest entries until at most `limit` are left.
    private func evictOldest(_ transaction: LMDBTransaction, downTo limit: Int) throws {
        var excess = try transaction.count(entries) - limit
        while excess > 0 {
            var batch: [[UInt8]] = []
            try transaction.forEach(ages) { key, _ in
                batch.append(key)
                return batch.count < min(excess, 256)
            }
            guard !batch.isEmpty else {
                // Entries without an age key (written by hand, or another version): drop them.
                var orphans: [[UInt8]] = []
                try transaction.forEach(entries) { key, _ in
                    orphans.append(key)
                    return orphans.count < excess
                }
                for key in orphans { try transaction.delete(entries, key) }
                return
            }
            for key in batch {
                try transaction.delete(ages, key)
                if key.count == 72, try transaction.delete(entries, Array(key.dropFirst(8))) { excess -= 1 }
            }
        }
    }

    // MARK: - Encoding

    static func encode(_ entry: SemanticEntry) -> [UInt8] {
        var bytes: [UInt8] = [version]
        bytes.reserveCapacity(headerBytes + entry.vector.dimensions)
        bytes += int64Bytes(entry.storedAtMillis)
        bytes += int64Bytes(entry.expiresAtMillis)
        let scale = entry.vector.scale.bitPattern
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: scale >> shift)) }
        let dimensions = UInt16(entry.vector.dimensions)
        bytes += [UInt8(dimensions >> 8), UInt8(truncatingIfNeeded: dimensions)]
        for value in entry.vector.values { bytes.append(UInt8(bitPattern: value)) }
        return bytes
    }

    static func int64Bytes(_ value: Int64) -> [UInt8] {
        let bits = UInt64(bitPattern: value)
        return stride(from: 56, through: 0, by: -8).map { UInt8(truncatingIfNeeded: bits >> $0) }
    }

    static func int64(_ bytes: some Collection<UInt8>, at offset: Int) -> Int64 {
        let start = bytes.index(bytes.startIndex, offsetBy: offset)
        return Int64(
            bitPattern: bytes[start..<bytes.index(start, offsetBy: 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }

}

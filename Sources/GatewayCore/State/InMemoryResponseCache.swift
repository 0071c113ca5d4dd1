import Synchronization

/// The in-memory `ResponseCacheBackend`, for unit tests and for running without shared state.
/// Same rules as `Store.LMDBResponseCache`: expired entries are a miss until swept, entries are
/// evicted oldest first (by `storedAtMillis`, then key) to keep the total cost under `maxBytes`,
/// an entry costing more than `maxEntryBytes` is silently not stored, and storing under an
/// existing key replaces the old entry (its cost is given back first).
///
/// An entry costs its body and strings plus `entryOverheadBytes`, an approximation of the LMDB
/// encoding (the exact figure there depends on the binary layout).
public final class InMemoryResponseCache: ResponseCacheBackend {
    /// Fixed cost per entry beyond its body and strings.
    public static let entryOverheadBytes = 128

    public let maxBytes: Int
    public let maxEntryBytes: Int

    private struct Age: Comparable {
        let storedAtMillis: Int64
        let key: CacheKey

        static func < (lhs: Age, rhs: Age) -> Bool {
            if lhs.storedAtMillis != rhs.storedAtMillis { return lhs.storedAtMillis < rhs.storedAtMillis }
            return lhs.key.digest.lexicographicallyPrecedes(rhs.key.digest)
        }
    }

    private struct State {
        var entries: [CacheKey: CachedResponse] = [:]
        var totalBytes = 0

        /// Entries oldest first.
        func byAge() -> [Age] {
            entries.map { Age(storedAtMillis: $0.value.storedAtMillis, key: $0.key) }.sorted()
        }

        mutating func remove(_ key: CacheKey) {
            guard let old = entries.removeValue(forKey: key) else { return }
            totalBytes -= InMemoryResponseCache.cost(of: old)
        }
    }

    private let state = Mutex(State())

    public init(maxBytes: Int = 256 << 20, maxEntryBytes: Int = 8 << 20) {
        self.maxBytes = maxBytes
        self.maxEntryBytes = maxEntryBytes
    }

    /// What an entry counts against `maxBytes`.
    public static func cost(of response: CachedResponse) -> Int {
        response.body.count + response.contentType.utf8.count + response.provider.utf8.count
            + response.upstreamModel.utf8.count + entryOverheadBytes
    }

    @discardableResult
    public func remove(_ key: CacheKey) throws -> Bool {
        state.withLock { state in
            let existed = state.entries[key] != nil
            state.remove(key)
            return existed
        }
    }

    public func lookup(_ key: CacheKey, nowMillis: Int64) throws -> CachedResponse? {
        state.withLock { state in
            state.entries[key].flatMap { nowMillis < $0.expiresAtMillis ? $0 : nil }
        }
    }

    public func store(_ key: CacheKey, _ response: CachedResponse) throws {
        let cost = Self.cost(of: response)
        guard cost <= maxEntryBytes, cost <= maxBytes else { return }
        state.withLock { state in
            state.remove(key)
            if state.totalBytes + cost > maxBytes {
                for age in state.byAge() where state.totalBytes + cost > maxBytes {
                    state.remove(age.key)
                }
            }
            state.entries[key] = response
            state.totalBytes += cost
        }
    }

    @discardableResult
    public func sweepExpired(nowMillis: Int64, limit: Int) throws -> Int {
        guard limit > 0 else { return 0 }
        return state.withLock { state in
            var removed = 0
            for age in state.byAge() where removed < limit {
                guard let entry = state.entries[age.key], entry.expiresAtMillis <= nowMillis else { continue }
                state.remove(age.key)
                removed += 1
            }
            return removed
        }
    }

    /// The sum of the costs of every entry, expired ones included.
    public var totalBytes: Int { state.withLock { $0.totalBytes } }

    public func usedBytes() throws -> Int { totalBytes }

    /// Number of entries, expired ones included.
    public var entryCount: Int { state.withLock { $0.entries.count } }

    /// Every stored answer's body (what a test checks the cache never holds).
    public var storedBodies: [[UInt8]] { state.withLock { $0.entries.values.map(\.body) } }
}

import Foundation
import GatewayCore
import Testing

@testable import Store

@Suite struct LMDBResponseCacheTests {
    /// A fresh environment in a temporary directory, removed when the test ends.
    private final class Fixture {
        let path: String
        let environment: LMDBEnvironment
        let executor: LMDBExecutor

        init(mapSize: Int = 1 << 24) throws {
            path =
                FileManager.default.temporaryDirectory.appendingPathComponent(
                    "llmgw-cache-\(UUID().uuidString.prefix(8))"
                ).path
            environment = try LMDBEnvironment(.init(path: path, mapSizeBytes: mapSize))
            executor = LMDBExecutor(environment: environment)
        }

        func cache(maxBytes: Int = 256 << 20, maxEntryBytes: Int = 8 << 20) -> LMDBResponseCache {
            LMDBResponseCache(
                executor: executor, configuration: .init(maxBytes: maxBytes, maxEntryBytes: maxEntryBytes))
        }

        /// Entries in `cache` and in `cache_expiry`, and the sum of their costs.
        func audit() throws -> (entries: Int, indexed: Int, bytes: Int) {
            try environment.withReadTransaction { transaction in
                var bytes = 0
                try transaction.forEach(environment.database("cache")) { _, value in
                    bytes += LMDBResponseCache.cost(valueBytes: value.count)
                    return true
                }
                return (
                    try transaction.count(environment.database("cache")),
                    try transaction.count(environment.database("cache_expiry")), bytes
                )
            }
        }

        /// Asserts that `cache_bytes` is exactly the sum of the entries and that every entry is indexed.
        func expectExactTotal(_ cache: LMDBResponseCache, sourceLocation: SourceLocation = #_sourceLocation)
            async throws
        {
            let audit = try audit()
            #expect(try await cache.totalBytes() == audit.bytes, sourceLocation: sourceLocation)
            #expect(audit.indexed == audit.entries, sourceLocation: sourceLocation)
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    private func key(_ seed: UInt8) -> CacheKey { CacheKey(digest: [UInt8](repeating: seed, count: 32)) }

    private func response(
        storedAt: Int64 = 1_000, expiresAt: Int64 = 1_000_000, bodySize: Int = 100, usage: TokenUsage? = nil
    ) -> CachedResponse {
        CachedResponse(
            contentType: "application/json", body: [UInt8](repeating: 0x61, count: bodySize), streamed: false,
            usage: usage, provider: "openai", upstreamModel: "gpt-4o-mini", storedAtMillis: storedAt,
            expiresAtMillis: expiresAt)
    }

    @Test func everyFieldRoundTrips() async throws {
        let fixture = try Fixture()
        let cache = fixture.cache()
        let full = CachedResponse(
            contentType: "text/event-stream; charset=utf-8",
            body: Array("data: {\"x\":\"é\"}\n\ndata: [DONE]\n\n".utf8),
            streamed: true,
            usage: TokenUsage(
                promptTokens: 1_234_567, completionTokens: 89, cachedPromptTokens: 1_000, reasoningTokens: 64),
            provider: "azure-east", upstreamModel: "gpt-4o-2024-08-06 ✓", storedAtMillis: 1_722_000_000_123,
            expiresAtMillis: 1_722_000_360_123)
        let bare = CachedResponse(
            contentType: "", body: [], streamed: false, usage: nil, provider: "", upstreamModel: "", storedAtMillis: 0,
            expiresAtMillis: Int64.max)
        try await cache.store(key(1), full)
        try await cache.store(key(2), bare)
        #expect(try await cache.lookup(key(1), nowMillis: 1_722_000_000_200) == full)
        #expect(try await cache.lookup(key(2), nowMillis: 5) == bare)
        #expect(try await cache.lookup(key(3), nowMillis: 5) == nil)
        #expect(CachedResponseCoding.decode(CachedResponseCoding.encode(full)) == full)
    }

    @Test func everyTruncationAndUnknownVersionDecodesToNil() {
        let encoded = CachedResponseCoding.encode(response(usage: TokenUsage(promptTokens: 300, completionTokens: 2)))
        for length in 0..<encoded.count { #expect(CachedResponseCoding.decode(Array(encoded.prefix(length))) == nil) }
        #expect(CachedResponseCoding.decode(encoded + [0]) == nil)
        var future = encoded
        future[0] = 2
        #expect(CachedResponseCoding.decode(future) == nil)
        var flags = encoded
        flags[1] |= 0x80
        #expect(CachedResponseCoding.decode(flags) == nil)
    }

    @Test func anExpiredEntryIsAMissButStaysUntilSwept() async throws {
        let fixture = try Fixture()
        let cache = fixture.cache()
        try await cache.store(key(1), response(storedAt: 1_000, expiresAt: 2_000))
        #expect(try await cache.lookup(key(1), nowMillis: 1_999) != nil)
        #expect(try await cache.lookup(key(1), nowMillis: 2_000) == nil)
        #expect(try await cache.entryCount() == 1)
    }

    @Test func theSizeCapEvictsTheOldestAndKeepsTheTotalExact() async throws {
        let fixture = try Fixture()
        let cost = LMDBResponseCache.cost(of: response())
        let cache = fixture.cache(maxBytes: 3 * cost)
        // Stored out of age order: eviction follows storedAtMillis, not insertion.
        for (seed, storedAt) in [(1, 3_000), (2, 1_000), (3, 2_000)] as [(UInt8, Int64)] {
            try await cache.store(key(seed), response(storedAt: storedAt))
        }
        try await fixture.expectExactTotal(cache)
        #expect(try await cache.totalBytes() == 3 * cost)
        try await cache.store(key(4), response(storedAt: 4_000))
        #expect(try await cache.lookup(key(2), nowMillis: 5_000) == nil)
        for seed: UInt8 in [1, 3, 4] { #expect(try await cache.lookup(key(seed), nowMillis: 5_000) != nil) }
        try await fixture.expectExactTotal(cache)
        // An entry costing almost two makes room by evicting the two oldest.
        try await cache.store(key(5), response(storedAt: 5_000, bodySize: cost))
        #expect(try await cache.lookup(key(3), nowMillis: 6_000) == nil)
        #expect(try await cache.lookup(key(1), nowMillis: 6_000) == nil)
        #expect(try await cache.lookup(key(4), nowMillis: 6_000) != nil)
        try await fixture.expectExactTotal(cache)
        #expect(try await cache.totalBytes() <= cache.maxBytes)
    }

    @Test func replacingAnEntryDoesNotCountItTwice() async throws {
        let fixture = try Fixture()
        let cache = fixture.cache()
        try await cache.store(key(1), response(storedAt: 1_000, bodySize: 500))
        try await cache.store(key(1), response(storedAt: 2_000, bodySize: 50))
        #expect(try await cache.lookup(key(1), nowMillis: 3_000)?.body.count == 50)
        let audit = try fixture.audit()
        #expect(audit.entries == 1)
        #expect(audit.indexed == 1)
        #expect(try await cache.totalBytes() == LMDBResponseCache.cost(of: response(storedAt: 2_000, bodySize: 50)))
    }

    @Test func anOversizeEntryIsSilentlyNotStored() async throws {
        let fixture = try Fixture()
        let cache = fixture.cache(maxBytes: 10_000, maxEntryBytes: 1_000)
        try await cache.store(key(1), response(bodySize: 2_000))
        #expect(try await cache.lookup(key(1), nowMillis: 2_000) == nil)
        #expect(try await cache.totalBytes() == 0)
        // Larger than the whole cache, though under the per-entry cap.
        let small = fixture.cache(maxBytes: 500, maxEntryBytes: 1_000)
        try await small.store(key(2), response(bodySize: 600))
        #expect(try await small.entryCount() == 0)
    }

    @Test func theCapIsClampedToHalfTheMap() async throws {
        let fixture = try Fixture(mapSize: 1 << 20)
        #expect(fixture.cache().maxBytes == 1 << 19)
    }

    @Test func aCorruptEntryIsAMissAndIsDeletedByTheNextWrite() async throws {
        let fixture = try Fixture()
        let cache = fixture.cache()
        let database = fixture.environment.database("cache")
        var future = CachedResponseCoding.encode(response())
        future[0] = 9
        try fixture.environment.withWriteTransaction { transaction in
            try transaction.put(database, key(1).digest, [1, 2, 3])
            try transaction.put(database, key(2).digest, future)
        }
        #expect(try await cache.lookup(key(1), nowMillis: 2_000) == nil)
        #expect(try await cache.lookup(key(2), nowMillis: 2_000) == nil)
        try await cache.store(key(3), response())
        #expect(try await cache.entryCount() == 1)
        #expect(try await cache.lookup(key(3), nowMillis: 2_000) != nil)
        try await fixture.expectExactTotal(cache)
    }

    @Test func theSweepRemovesOnlyExpiredEntriesUpToTheLimit() async throws {
        let fixture = try Fixture()
        let cache = fixture.cache()
        // An old long-lived entry precedes short-lived newer ones in age order.
        try await cache.store(key(1), response(storedAt: 1_000, expiresAt: 100_000))
        for seed: UInt8 in 2...4 {
            try await cache.store(key(seed), response(storedAt: 2_000 + Int64(seed), expiresAt: 5_000))
        }
        try await cache.store(key(5), response(storedAt: 3_000, expiresAt: 9_000))
        #expect(try await cache.sweepExpired(nowMillis: 4_999, limit: 10) == 0)
        #expect(try await cache.sweepExpired(nowMillis: 6_000, limit: 2) == 2)
        #expect(try await cache.sweepExpired(nowMillis: 6_000, limit: 10) == 1)
        #expect(try await cache.sweepExpired(nowMillis: 6_000, limit: 10) == 0)
        #expect(try await cache.entryCount() == 2)
        #expect(try await cache.lookup(key(1), nowMillis: 6_000) != nil)
        #expect(try await cache.lookup(key(5), nowMillis: 6_000) != nil)
        try await fixture.expectExactTotal(cache)
    }

    @Test func theSweepResumesPastAWindowOfLongLivedEntries() async throws {
        let fixture = try Fixture()
        let cache = fixture.cache()
        for index in 0..<300 {
            let digest = (0..<32).map { UInt8(truncatingIfNeeded: index >> ($0 % 2 * 8)) }
            let expiresAt: Int64 = index < 270 ? 1_000_000 : 5_000
            try await cache.store(
                CacheKey(digest: digest), response(storedAt: 1_000 + Int64(index), expiresAt: expiresAt))
        }
        // The first window (256 entries) holds only long-lived ones; later calls move past it.
        #expect(try await cache.sweepExpired(nowMillis: 6_000, limit: 1) == 0)
        var removed = 0
        for _ in 0..<40 { removed += try await cache.sweepExpired(nowMillis: 6_000, limit: 1) }
        #expect(removed == 30)
        #expect(try await cache.entryCount() == 270)
        try await fixture.expectExactTotal(cache)
    }

    @Test func aFullMapEvictsTheOldestAndTheStoreSucceeds() async throws {
        let fixture = try Fixture(mapSize: 1 << 20)
        let environment = fixture.environment
        let cache = fixture.cache()
        let entry = { (seed: Int) in self.response(storedAt: Int64(seed), bodySize: 20_000) }
        var seed = 0
        // Fill the cache to its cap (half the map), then the rest of the map with other data.
        while try await cache.totalBytes() + LMDBResponseCache.cost(of: entry(seed)) <= cache.maxBytes {
            try await cache.store(key(UInt8(seed)), entry(seed))
            seed += 1
        }
        let spend = environment.database("spend")
        var filler = 0
        let junk = [UInt8](repeating: 1, count: 4_000)
        while (try? environment.withWriteTransaction({ try $0.put(spend, Array("f\(filler)".utf8), junk) })) != nil {
            filler += 1
        }
        #expect(filler > 0)
        // Leave a few pages of slack, too few for a 20 kB entry: a map can be emptied only by
        // transactions that themselves need a handful of pages (LMDB cannot delete from a map
        // with none left).
        try environment.withWriteTransaction { transaction in
            for index in 0..<3 { try transaction.delete(spend, Array("f\(index)".utf8)) }
        }
        // Freed pages are reusable two transactions later: one more small write, as other
        // traffic would make.
        try environment.withWriteTransaction { try $0.put(spend, [0], [0]) }
        try await cache.store(key(200), entry(200))
        let evicted = try environment.withReadTransaction {
            try $0.get(environment.database("meta"), Array("last_eviction".utf8))
        }
        #expect(evicted != nil, "the onMapFull hook ran")
        #expect(try await cache.lookup(key(200), nowMillis: 500) != nil)
        #expect(try await cache.lookup(key(0), nowMillis: 500) == nil)
        #expect(try await cache.totalBytes() <= cache.maxBytes / 2 + LMDBResponseCache.cost(of: entry(200)))
        try await fixture.expectExactTotal(cache)
    }
}

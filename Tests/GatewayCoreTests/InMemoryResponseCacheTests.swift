import GatewayCore
import Testing

@Suite struct InMemoryResponseCacheTests {
    private func key(_ seed: UInt8) -> CacheKey { CacheKey(digest: [UInt8](repeating: seed, count: 32)) }

    private func response(storedAt: Int64 = 1_000, expiresAt: Int64 = 1_000_000, bodySize: Int = 100)
        -> CachedResponse
    {
        CachedResponse(
            contentType: "application/json", body: [UInt8](repeating: 0x61, count: bodySize), streamed: false,
            usage: nil, provider: "openai", upstreamModel: "gpt-4o-mini", storedAtMillis: storedAt,
            expiresAtMillis: expiresAt)
    }

    /// The running total equals the sum of the costs of what is actually stored.
    private func expectExactTotal(
        _ cache: InMemoryResponseCache, keys: [CacheKey], nowMillis: Int64 = 0,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let present = try keys.compactMap { try cache.lookup($0, nowMillis: nowMillis) }
        #expect(present.count == cache.entryCount, sourceLocation: sourceLocation)
        #expect(
            cache.totalBytes == present.reduce(0) { $0 + InMemoryResponseCache.cost(of: $1) },
            sourceLocation: sourceLocation)
    }

    @Test func everyFieldRoundTrips() throws {
        let cache = InMemoryResponseCache()
        let full = CachedResponse(
            contentType: "text/event-stream", body: Array("data: [DONE]\n\n".utf8), streamed: true,
            usage: TokenUsage(promptTokens: 10, completionTokens: 20, cachedPromptTokens: 5, reasoningTokens: 7),
            provider: "azure", upstreamModel: "gpt-4o", storedAtMillis: 1_000, expiresAtMillis: 2_000)
        try cache.store(key(1), full)
        #expect(try cache.lookup(key(1), nowMillis: 1_500) == full)
        #expect(try cache.lookup(key(2), nowMillis: 1_500) == nil)
    }

    @Test func anExpiredEntryIsAMissButStaysUntilSwept() throws {
        let cache = InMemoryResponseCache()
        try cache.store(key(1), response(storedAt: 1_000, expiresAt: 2_000))
        #expect(try cache.lookup(key(1), nowMillis: 1_999) != nil)
        #expect(try cache.lookup(key(1), nowMillis: 2_000) == nil)
        #expect(cache.entryCount == 1)
    }

    @Test func theSizeCapEvictsTheOldestAndKeepsTheTotalExact() throws {
        let cost = InMemoryResponseCache.cost(of: response())
        let cache = InMemoryResponseCache(maxBytes: 3 * cost)
        let keys = (1...5).map { key($0) }
        for (seed, storedAt) in [(1, 3_000), (2, 1_000), (3, 2_000)] as [(UInt8, Int64)] {
            try cache.store(key(seed), response(storedAt: storedAt))
        }
        #expect(cache.totalBytes == 3 * cost)
        try cache.store(key(4), response(storedAt: 4_000))
        #expect(try cache.lookup(key(2), nowMillis: 5_000) == nil)
        for seed: UInt8 in [1, 3, 4] { #expect(try cache.lookup(key(seed), nowMillis: 5_000) != nil) }
        try expectExactTotal(cache, keys: keys)
        try cache.store(key(5), response(storedAt: 5_000, bodySize: cost))
        #expect(try cache.lookup(key(3), nowMillis: 6_000) == nil)
        #expect(try cache.lookup(key(1), nowMillis: 6_000) == nil)
        #expect(try cache.lookup(key(4), nowMillis: 6_000) != nil)
        try expectExactTotal(cache, keys: keys)
        #expect(cache.totalBytes <= cache.maxBytes)
    }

    @Test func replacingAnEntryDoesNotCountItTwice() throws {
        let cache = InMemoryResponseCache()
        try cache.store(key(1), response(storedAt: 1_000, bodySize: 500))
        try cache.store(key(1), response(storedAt: 2_000, bodySize: 50))
        #expect(try cache.lookup(key(1), nowMillis: 3_000)?.body.count == 50)
        #expect(cache.entryCount == 1)
        #expect(cache.totalBytes == InMemoryResponseCache.cost(of: response(bodySize: 50)))
    }

    @Test func anOversizeEntryIsSilentlyNotStored() throws {
        let cache = InMemoryResponseCache(maxBytes: 10_000, maxEntryBytes: 1_000)
        try cache.store(key(1), response(bodySize: 2_000))
        #expect(cache.entryCount == 0)
        #expect(cache.totalBytes == 0)
        let small = InMemoryResponseCache(maxBytes: 500, maxEntryBytes: 1_000)
        try small.store(key(2), response(bodySize: 600))
        #expect(small.entryCount == 0)
    }

    @Test func theSweepRemovesOnlyExpiredEntriesUpToTheLimit() throws {
        let cache = InMemoryResponseCache()
        let keys = (1...5).map { key($0) }
        try cache.store(key(1), response(storedAt: 1_000, expiresAt: 100_000))
        for seed: UInt8 in 2...4 {
            try cache.store(key(seed), response(storedAt: 2_000 + Int64(seed), expiresAt: 5_000))
        }
        try cache.store(key(5), response(storedAt: 3_000, expiresAt: 9_000))
        #expect(try cache.sweepExpired(nowMillis: 4_999, limit: 10) == 0)
        #expect(try cache.sweepExpired(nowMillis: 6_000, limit: 2) == 2)
        #expect(try cache.sweepExpired(nowMillis: 6_000, limit: 10) == 1)
        #expect(try cache.sweepExpired(nowMillis: 6_000, limit: 10) == 0)
        #expect(cache.entryCount == 2)
        #expect(try cache.lookup(key(1), nowMillis: 6_000) != nil)
        #expect(try cache.lookup(key(5), nowMillis: 6_000) != nil)
        try expectExactTotal(cache, keys: keys)
    }
}

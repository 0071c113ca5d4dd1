/// A fixed-width cache key: SHA-256 over explicitly named request material (see
/// `Pipeline/CacheKeyBuilder`). 32 bytes.
public struct CacheKey: Hashable, Sendable, CustomStringConvertible {
    public let digest: [UInt8]

    public init(digest: [UInt8]) {
        precondition(digest.count == 32, "cache keys are SHA-256 digests")
        self.digest = digest
    }

    /// Short hex prefix, for logs.
    public var description: String {
        digest.prefix(6).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

/// One cached answer, exactly as it was sent to the client: a JSON body, or the SSE transcript
/// of a streamed answer (replayed as a stream).
public struct CachedResponse: Sendable, Equatable {
    public var contentType: String
    public var body: [UInt8]
    public var streamed: Bool
    public var usage: TokenUsage?
    /// Provider that produced the answer (`x-llmgw-provider` on a hit).
    public var provider: String
    public var upstreamModel: String
    public var storedAtMillis: Int64
    public var expiresAtMillis: Int64

    public init(
        contentType: String,
        body: [UInt8],
        streamed: Bool,
        usage: TokenUsage?,
        provider: String,
        upstreamModel: String,
        storedAtMillis: Int64,
        expiresAtMillis: Int64
    ) {
        self.contentType = contentType
        self.body = body
        self.streamed = streamed
        self.usage = usage
        self.provider = provider
        self.upstreamModel = upstreamModel
        self.storedAtMillis = storedAtMillis
        self.expiresAtMillis = expiresAtMillis
    }
}

/// Where cached responses live: LMDB in production (`Store.LMDBResponseCache`), memory in unit
/// tests (`InMemoryResponseCache`). Implementations are synchronous and short; callers treat
/// every error as a miss (the cache fails open).
public protocol ResponseCacheBackend: Sendable {
    /// The entry for `key` if present and not expired at `nowMillis`.
    func lookup(_ key: CacheKey, nowMillis: Int64) async throws -> CachedResponse?
    /// Stores `response`, evicting the oldest entries when the cache would exceed its size cap.
    func store(_ key: CacheKey, _ response: CachedResponse) async throws
    /// Deletes the entry for `key`; true when there was one.
    @discardableResult
    func remove(_ key: CacheKey) async throws -> Bool
    /// Removes up to `limit` expired entries; returns how many were removed.
    @discardableResult
    func sweepExpired(nowMillis: Int64, limit: Int) async throws -> Int
    /// The bytes the entries count against the size cap (`llmgw_cache_bytes`).
    func usedBytes() async throws -> Int
}

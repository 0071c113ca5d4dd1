/// A semantic-cache entry: an embedded prompt pointing at the exact-cache entry (`answerKey`)
/// that holds the answer to it.
public struct SemanticEntry: Sendable, Equatable {
    public var vector: SemanticVector
    public var answerKey: CacheKey
    public var storedAtMillis: Int64
    public var expiresAtMillis: Int64

    public init(vector: SemanticVector, answerKey: CacheKey, storedAtMillis: Int64, expiresAtMillis: Int64) {
        self.vector = vector
        self.answerKey = answerKey
        self.storedAtMillis = storedAtMillis
        self.expiresAtMillis = expiresAtMillis
    }
}

/// A candidate found by `SemanticIndexBackend.nearest`.
public struct SemanticMatch: Sendable, Equatable {
    public var answerKey: CacheKey
    public var similarity: Float

    public init(answerKey: CacheKey, similarity: Float) {
        self.answerKey = answerKey
        self.similarity = similarity
    }
}

/// Where the semantic cache's vectors live: LMDB in production (`Store.LMDBSemanticIndex`),
/// memory in unit tests (`InMemorySemanticIndex`). Entries are grouped by a 32-byte namespace
/// (`Pipeline/SemanticNamespace`); a lookup only ever sees its own namespace's entries.
public protocol SemanticIndexBackend: Sendable {
    /// The live entries of `namespace` whose similarity to `vector` is at least `threshold`, best
    /// first, at most `limit`. An exact search over the namespace.
    func nearest(
        _ vector: SemanticVector, namespace: CacheKey, threshold: Float, limit: Int, nowMillis: Int64
    ) async throws -> [SemanticMatch]
    /// Stores `entry` (replacing one of the same namespace and answer key), then evicts the oldest
    /// entries of every namespace until at most `maxEntries` are left.
    func insert(_ entry: SemanticEntry, namespace: CacheKey, maxEntries: Int) async throws
    /// Deletes the entry of `namespace` pointing at `answerKey` (a dangling pointer); true when
    /// there was one.
    @discardableResult
    func remove(namespace: CacheKey, answerKey: CacheKey) async throws -> Bool
    /// Removes up to `limit` expired entries; returns how many were removed.
    @discardableResult
    func sweepExpired(nowMillis: Int64, limit: Int) async throws -> Int
    /// Number of entries, expired ones included.
    func entryCount() async throws -> Int
}

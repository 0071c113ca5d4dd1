import Synchronization

/// The in-memory `SemanticIndexBackend`, for unit tests. Same rules as `Store.LMDBSemanticIndex`:
/// expired entries are never found and stay until swept, eviction takes the oldest entry
/// (`storedAtMillis`, then insertion order) of any namespace.
public final class InMemorySemanticIndex: SemanticIndexBackend {
    private struct Stored {
        var namespace: CacheKey
        var entry: SemanticEntry
        var sequence: Int
    }

    private let entries = Mutex<(items: [Stored], next: Int)>(([], 0))

    public init() {}

    public func nearest(
        _ vector: SemanticVector, namespace: CacheKey, threshold: Float, limit: Int, nowMillis: Int64
    ) async throws -> [SemanticMatch] {
        let matches = entries.withLock { state in
            state.items.compactMap { stored -> SemanticMatch? in
                guard stored.namespace == namespace, nowMillis < stored.entry.expiresAtMillis,
                    let similarity = stored.entry.vector.similarity(to: vector), similarity >= threshold
                else { return nil }
                return SemanticMatch(answerKey: stored.entry.answerKey, similarity: similarity)
            }
        }
        return Array(matches.sorted { $0.similarity > $1.similarity }.prefix(limit))
    }

    public func insert(_ entry: SemanticEntry, namespace: CacheKey, maxEntries: Int) async throws {
        entries.withLock { state in
            state.items.removeAll { $0.namespace == namespace && $0.entry.answerKey == entry.answerKey }
            state.items.append(Stored(namespace: namespace, entry: entry, sequence: state.next))
            state.next += 1
            state.items.sort {
                ($0.entry.storedAtMillis, $0.sequence) < ($1.entry.storedAtMillis, $1.sequence)
            }
            if state.items.count > maxEntries { state.items.removeFirst(state.items.count - max(0, maxEntries)) }
        }
    }

    public func remove(namespace: CacheKey, answerKey: CacheKey) async throws -> Bool {
        entries.withLock { state in
            let before = state.items.count
            state.items.removeAll { $0.namespace == namespace && $0.entry.answerKey == answerKey }
            return state.items.count < before
        }
    }

    public func sweepExpired(nowMillis: Int64, limit: Int) async throws -> Int {
        entries.withLock { state in
            var removed = 0
            state.items.removeAll { stored in
                guard removed < limit, stored.entry.expiresAtMillis <= nowMillis else { return false }
                removed += 1
                return true
            }
            return removed
        }
    }

    public func entryCount() async throws -> Int { entries.withLock { $0.items.count } }
}

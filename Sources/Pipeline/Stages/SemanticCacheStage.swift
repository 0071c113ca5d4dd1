import Dialects
import GatewayCore
import Logging

/// What the semantic cache stage decided for one request.
struct SemanticPlan: Sendable {
    let prompt: SemanticPrompt
    /// False for `x-llmgw-cache: no-cache` (the fresh answer is still stored).
    let lookup: Bool
    let ttl: Duration
}

/// A semantic hit: the exact-cache entry of an earlier prompt of the same namespace.
struct SemanticHit: Sendable {
    let response: CachedResponse
    let similarity: Float
}

/// Stage 5b, semantic cache, on an exact-cache miss: a chat prompt is embedded
/// (`SemanticEmbedder`) and compared with the prompts stored in its namespace (`SemanticPrompt`);
/// the closest at or above `threshold` answers with the exact-cache entry it points at, so a
/// streamed answer is replayed as a stream and the exact cache's TTL, size cap and eviction hold
/// for the answers. A pointer whose answer is gone is a miss and is deleted. Every failure (the
/// embedding too slow or failed, the store) is a miss: the cache fails open.
struct SemanticCacheStage: Sendable {
    /// Candidates tried per lookup (more than one only matters when the best one's answer is gone).
    static let candidates = 4

    let configuration: GatewayConfiguration
    let index: (any SemanticIndexBackend)?
    let cache: (any ResponseCacheBackend)?
    let embedder: SemanticEmbedder?
    let logger: Logger
    let clock: any WallClock

    /// Whether `model` uses the semantic cache (its `semantic_cache`, else `cache.semantic.enabled`).
    static func applies(to model: String, in configuration: GatewayConfiguration) -> Bool {
        guard configuration.cache.semantic.embeddingModel != nil else { return false }
        return configuration.model(named: model)?.semanticCache ?? configuration.cache.semantic.enabled
    }

    /// Requests with `messages` (chat completions, Anthropic Messages) that the exact cache
    /// handles (`exact`), for a model that uses it.
    static let endpoints: Set<String> = ["/v1/chat/completions", "/v1/messages"]

    func plan(for request: GatewayRequest, model: String, caller: String, exact: CachePlan?) -> SemanticPlan? {
        guard let exact, index != nil, embedder != nil, Self.endpoints.contains(request.path),
            Self.applies(to: model, in: configuration)
        else { return nil }
        let semantic = configuration.cache.semantic
        guard
            let prompt = SemanticPrompt(
                body: request.body, embed: semantic.embed,
                namespace: configuration.cache.shared ? "shared" : caller, model: model, endpoint: request.path,
                headers: CacheKeyBuilder.varyingHeaders.map { request.header($0) ?? "" })
        else { return nil }
        return SemanticPlan(prompt: prompt, lookup: exact.lookup, ttl: min(exact.ttl, semantic.ttl ?? exact.ttl))
    }

    /// The embedding of the plan's text, or nil (a miss) when it failed or took too long.
    func embed(_ plan: SemanticPlan, caller: String, team: String?, requestID: String) async -> SemanticVector? {
        guard let embedder else { return nil }
        let embedding = await embedder.embed(plan.prompt.text, caller: caller, team: team, parentRequestID: requestID)
        return embedding.flatMap(SemanticVector.init(embedding:))
    }

    func lookup(_ plan: SemanticPlan, vector: SemanticVector) async -> SemanticHit? {
        guard plan.lookup, let index, let cache else { return nil }
        let now = clock.nowMillis()
        do {
            let matches = try await index.nearest(
                vector, namespace: plan.prompt.namespace, threshold: Float(configuration.cache.semantic.threshold),
                limit: Self.candidates, nowMillis: now)
            for match in matches {
                if let response = try await cache.lookup(match.answerKey, nowMillis: now) {
                    return SemanticHit(response: response, similarity: match.similarity)
                }
                try await index.remove(namespace: plan.prompt.namespace, answerKey: match.answerKey)
            }
        } catch {
            logger.warning("semantic cache lookup failed", metadata: ["error": "\(error)"])
        }
        return nil
    }

    /// After the exact cache stored the answer under `answerKey`: the prompt's vector points at it.
    func store(_ plan: SemanticPlan, vector: SemanticVector, answerKey: CacheKey, record: AccessRecord) async {
        guard let index, record.outcome == .ok, record.status == 200, record.provider != nil else { return }
        let now = clock.nowMillis()
        let entry = SemanticEntry(
            vector: vector, answerKey: answerKey, storedAtMillis: now,
            expiresAtMillis: now.addingSaturating(plan.ttl.saturatingMillis))
        do {
            try await index.insert(
                entry, namespace: plan.prompt.namespace, maxEntries: configuration.cache.semantic.maxEntries)
        } catch {
            logger.warning("semantic cache store failed", metadata: ["error": "\(error)"])
        }
    }
}

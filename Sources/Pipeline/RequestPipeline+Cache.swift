import Dialects
import GatewayCore

/// What the cache stage decided for one request.
struct CachePlan {
    var key: CacheKey
    /// Look the answer up (false for `x-llmgw-cache: no-cache`).
    var lookup: Bool
    var ttl: Duration
}

extension RequestPipeline {
    /// Largest answer kept for the cache (bigger answers are relayed, not stored).
    static let maximumCachedBytes = 8 << 20

    /// 4. cache: whether this request uses the cache, under which key. `x-llmgw-cache: no-store`
    /// bypasses it; `no-cache` skips the lookup but stores the fresh answer;
    /// `x-llmgw-cache-ttl: SECONDS` sets the lifetime of what is stored.
    func cachePlan(_ exchange: Exchange, summary: OpenAIRequestSummary, endpoint: OpenAIPassthrough.Endpoint)
        -> CachePlan?
    {
        guard state?.cache != nil else { return nil }
        let modelSetting = configuration.model(named: summary.model)?.cache
        guard modelSetting ?? configuration.cache.enabled else { return nil }
        let directive = exchange.request.header("x-llmgw-cache")?.lowercased()
        if directive == "no-store" { return nil }
        var ttl = configuration.cache.ttl
        if let text = exchange.request.header("x-llmgw-cache-ttl"), let seconds = Int(text), seconds > 0 {
            ttl = .seconds(min(seconds, 30 * 86_400))
        }
        let namespace = configuration.cache.shared ? "shared" : exchange.record.caller
        guard
            let key = CacheKeyBuilder.key(
                namespace: namespace,
                model: summary.model,
                endpoint: exchange.request.path,
                body: exchange.request.body,
                headers: CacheKeyBuilder.varyingHeaders.map { exchange.request.header($0) ?? "" }
            )
        else { return nil }
        return CachePlan(key: key, lookup: directive != "no-cache", ttl: ttl)
    }

    /// Answers from the cache when it holds the answer; a streamed answer is replayed as a stream.
    /// Store errors are misses (the cache fails open).
    func serveFromCache(_ plan: CachePlan, exchange: inout Exchange, writer: some ResponseWriter) async -> Bool {
        guard plan.lookup, let cache = state?.cache else { return false }
        let hit: CachedResponse?
        do {
            hit = try await cache.lookup(plan.key, nowMillis: nowMillis())
        } catch {
            logger.warning("cache lookup failed", metadata: ["error": "\(error)"])
            return false
        }
        guard let hit else { return false }
        exchange.record.cache = "hit"
        exchange.record.outcome = "cache_hit"
        exchange.record.status = 200
        exchange.record.provider = hit.provider
        exchange.record.upstreamModel = hit.upstreamModel
        exchange.cachedUsage = hit.usage
        exchange.markFirstByte()
        let headers = exchange.responseHeaders([("content-type", hit.contentType)])
        do {
            if hit.streamed {
                try await writer.writeHead(status: 200, headers: headers + [("cache-control", "no-cache")])
                try await writer.writeBodyPart(hit.body)
                try await writer.end()
            } else {
                try await writer.writeComplete(status: 200, headers: headers, body: hit.body)
            }
        } catch {
            exchange.record.outcome = "client_closed"
        }
        return true
    }

    /// Stores a complete, successful answer (never an error or a cut stream).
    func storeInCache(_ exchange: Exchange) async {
        guard let plan = exchange.cachePlan, let cache = state?.cache, let body = exchange.captured,
            exchange.record.outcome == "ok", exchange.record.status == 200,
            let provider = exchange.record.provider, let upstreamModel = exchange.record.upstreamModel
        else { return }
        let now = nowMillis()
        let response = CachedResponse(
            contentType: exchange.capturedContentType ?? "application/json",
            body: body,
            streamed: exchange.record.stream,
            usage: exchange.record.usage,
            provider: provider,
            upstreamModel: upstreamModel,
            storedAtMillis: now,
            expiresAtMillis: now.addingSaturating(plan.ttl.saturatingMillis)
        )
        do {
            try await cache.store(plan.key, response)
        } catch {
            logger.warning("cache store failed", metadata: ["error": "\(error)"])
        }
    }
}

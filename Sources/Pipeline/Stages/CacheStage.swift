import Dialects
import GatewayCore
import Logging

/// What the cache stage decided for one request.
struct CachePlan: Sendable {
    var key: CacheKey
    /// Look the answer up (false for `x-llmgw-cache: no-cache`).
    var lookup: Bool
    var ttl: Duration
}

/// What reached the client, kept for the cache while under `CacheStage.maximumCachedBytes`.
struct AnswerCapture: Sendable {
    /// Nil once past the cap.
    private(set) var bytes: [UInt8]? = []
    var contentType = "application/json"

    mutating func append(_ more: [UInt8]) {
        guard var kept = bytes else { return }
        guard kept.count + more.count <= CacheStage.maximumCachedBytes else {
            bytes = nil
            return
        }
        bytes = nil  // avoid a copy while appending
        kept.append(contentsOf: more)
        bytes = kept
    }
}

/// Stage 5, cache: exact-match answers shared by the host's sidecars. `plan` decides whether and
/// under which key a request uses the cache, `serve` answers a hit (a streamed answer is replayed
/// as a stream), `store` keeps a complete, successful answer. Store errors are misses: the cache
/// fails open.
struct CacheStage: Sendable {
    /// Largest answer kept (bigger answers are relayed, not stored).
    static let maximumCachedBytes = 8 << 20

    let configuration: GatewayConfiguration
    let cache: (any ResponseCacheBackend)?
    let logger: Logger
    let clock: any WallClock

    /// `x-llmgw-cache: no-store` bypasses the cache; `no-cache` skips the lookup but stores the
    /// fresh answer; `x-llmgw-cache-ttl: SECONDS` sets the lifetime of what is stored.
    func plan(for request: GatewayRequest, model: String, caller: String) -> CachePlan? {
        guard cache != nil else { return nil }
        let modelSetting = configuration.model(named: model)?.cache
        // The semantic cache keeps its answers here: a model that uses it uses this one too.
        guard modelSetting ?? configuration.cache.enabled || SemanticCacheStage.applies(to: model, in: configuration)
        else { return nil }
        let directive = request.header("x-llmgw-cache")?.lowercased()
        if directive == "no-store" { return nil }
        var ttl = configuration.cache.ttl
        if let text = request.header("x-llmgw-cache-ttl"), let seconds = Int(text), seconds > 0 {
            ttl = .seconds(min(seconds, 30 * 86_400))
        }
        guard
            let key = CacheKeyBuilder.key(
                namespace: configuration.cache.shared ? "shared" : caller,
                model: model,
                endpoint: request.path,
                body: request.body,
                headers: CacheKeyBuilder.varyingHeaders.map { request.header($0) ?? "" }
            )
        else { return nil }
        return CachePlan(key: key, lookup: directive != "no-cache", ttl: ttl)
    }

    func lookup(_ plan: CachePlan) async -> CachedResponse? {
        guard plan.lookup, let cache else { return nil }
        do {
            return try await cache.lookup(plan.key, nowMillis: clock.nowMillis())
        } catch {
            logger.warning("cache lookup failed", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Answers with `hit`: the access record names the provider that once answered it. A semantic
    /// hit (`similarity` given) says so in `x-llmgw-cache` and `x-llmgw-cache-similarity`.
    func serve(
        _ hit: CachedResponse, similarity: Float? = nil, exchange: inout Exchange, writer: some ResponseWriter
    ) async {
        exchange.record.cache = similarity == nil ? .hit : .semanticHit
        if let similarity { exchange.extraHeaders.append(("x-llmgw-cache-similarity", Self.format(similarity))) }
        exchange.record.outcome = .cacheHit
        exchange.record.status = 200
        exchange.record.provider = hit.provider
        exchange.record.upstreamModel = hit.upstreamModel
        // A cached answer holds the placeholders: the answer guard restores this request's values
        // (and applies the model's answer guardrails as they are now).
        var body = hit.body
        if var guarding = exchange.answerGuard {
            var screened = hit.streamed ? guarding.screenStream(hit.body) : guarding.screenBody(hit.body)
            if hit.streamed { screened.client += guarding.finishStream().client }
            exchange.answerGuard = guarding
            if let refusal = guarding.refusal {
                await exchange.respond(with: refusal.error, to: writer)
                return
            }
            body = screened.client
        }
        exchange.markFirstByte()
        let headers = exchange.responseHeaders([("content-type", hit.contentType)])
        do {
            if hit.streamed {
                try await writer.writeHead(status: 200, headers: headers + [("cache-control", "no-cache")])
                try await writer.writeBodyPart(body)
                try await writer.end()
            } else {
                try await writer.writeComplete(status: 200, headers: headers, body: body)
            }
        } catch {
            exchange.record.outcome = .clientClosed
        }
    }

    /// A similarity with two decimals, rounded down (`0.97`; never `1.00` unless it is 1).
    static func format(_ similarity: Float) -> String {
        let hundredths = max(0, min(100, Int((Double(similarity) * 100).rounded(.down))))
        return hundredths == 100 ? "1.00" : "0." + (hundredths < 10 ? "0" : "") + String(hundredths)
    }

    /// Stores a complete, successful answer (never an error or a cut stream).
    func store(_ capture: AnswerCapture?, plan: CachePlan?, record: AccessRecord) async {
        guard let plan, let cache, let body = capture?.bytes, record.outcome == .ok, record.status == 200,
            let provider = record.provider, let upstreamModel = record.upstreamModel
        else { return }
        let now = clock.nowMillis()
        let response = CachedResponse(
            contentType: capture?.contentType ?? "application/json",
            body: body,
            streamed: record.stream,
            usage: record.usage,
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

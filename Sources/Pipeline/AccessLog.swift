import GatewayCore

/// One upstream attempt of a request, kept in order for the log line, the `x-llmgw-attempts`
/// header and the 502 message.
public struct AttemptRecord: Sendable, Equatable {
    /// `provider/model`.
    public var target: String
    /// The provider's HTTP status, nil when no response head arrived.
    public var status: Int?
    /// A payload-free label of the failure (`connect`, `first_byte_timeout`, `http_503`), nil on success.
    public var error: String?
    public var milliseconds: Double
    /// The target was passed over without a request (circuit open, provider quota, no price).
    public var skipped: Bool

    public init(target: String, status: Int?, error: String?, milliseconds: Double, skipped: Bool = false) {
        self.target = target
        self.status = status
        self.error = error
        self.milliseconds = milliseconds
        self.skipped = skipped
    }
}

/// The access log line of one request (docs/design.md §6). Built up while the request runs, written
/// once at the end.
public struct AccessRecord: Sendable {
    public var requestID: String
    /// The W3C trace id (32 lowercase hex digits): the client's `traceparent`'s, or a new one.
    public var traceID: String?
    public var caller: String
    public var route: String
    public var model: String?
    public var provider: String?
    public var upstreamModel: String?
    public var status = 0
    public var outcome = Outcome.ok
    public var stream = false
    public var cache = CacheStatus.bypass
    public var attempts: [AttemptRecord] = []
    public var latencyMilliseconds = 0.0
    public var ttfbMilliseconds: Double?
    public var overheadMicroseconds = 0
    public var usage: TokenUsage?
    public var costUSD: Double?
    /// Why the request failed, payload-free (never a key, never a body).
    public var errorMessage: String?
    /// What the guardrails found, counted per guardrail, entity type and action
    /// (`pii:email:mask=2`); never a matched value.
    public var guardrails: String?
    /// Set on a request the gateway made for itself (`semantic_cache`: the embedding of a prompt
    /// for the semantic cache); nil for a client's request.
    public var `internal`: String?

    public init(requestID: String, caller: String, route: String) {
        self.requestID = requestID
        self.caller = caller
        self.route = route
    }

    public func jsonLine(timestamp: String) -> [UInt8] {
        var json = JSONWriter(capacity: 512)
        json.object { json in
            json.field("ts", timestamp)
            json.field("level", status >= 500 ? "error" : (status >= 400 ? "warning" : "info"))
            json.field("msg", "request")
            json.field("request_id", requestID)
            if let traceID { json.field("trace_id", traceID) }
            json.field("caller", caller)
            json.field("route", route)
            json.field("model", model)
            json.field("provider", provider)
            json.field("upstream_model", upstreamModel)
            json.field("status", status)
            json.field("outcome", outcome.rawValue)
            json.field("stream", stream)
            json.field("cache", cache.rawValue)
            json.key("attempts")
            json.array { json in
                for attempt in attempts {
                    json.object { json in
                        json.field("target", attempt.target)
                        json.field("status", attempt.status)
                        if let error = attempt.error { json.field("error", error) }
                        json.field("ms", attempt.milliseconds, decimals: 1)
                    }
                }
            }
            json.field("latency_ms", latencyMilliseconds, decimals: 1)
            json.key("ttfb_ms")
            if let ttfb = ttfbMilliseconds { json.double(ttfb, decimals: 1) } else { json.null() }
            json.field("overhead_us", overheadMicroseconds)
            json.field("prompt_tokens", usage?.promptTokens)
            json.field("completion_tokens", usage?.completionTokens)
            if let cached = usage?.cachedPromptTokens, cached > 0 { json.field("cached_tokens", cached) }
            if let reasoning = usage?.reasoningTokens, reasoning > 0 { json.field("reasoning_tokens", reasoning) }
            json.key("cost_usd")
            if let cost = costUSD { json.double(cost, decimals: 6) } else { json.null() }
            if let errorMessage { json.field("error", errorMessage) }
            if let guardrails { json.field("guardrails", guardrails) }
            if let `internal` { json.field("internal", `internal`) }
        }
        return json.bytes
    }
}

/// What the response cache did for a request (`cache` in the access log, `x-llmgw-cache`).
public enum CacheStatus: String, Sendable, Equatable {
    /// Answered from the cache.
    case hit
    /// Answered from the semantic cache: an earlier prompt of the same namespace meant the same.
    case semanticHit = "semantic_hit"
    /// Looked up (or skipped by `no-cache`) and not found: the answer may be stored.
    case miss
    /// The cache does not apply (off, `no-store`, an endpoint it does not serve).
    case bypass

    /// The `x-llmgw-cache` header's value (`semantic-hit`; the others as logged).
    public var headerValue: String { self == .semanticHit ? "semantic-hit" : rawValue }

    /// Answered from either cache.
    public var isHit: Bool { self == .hit || self == .semanticHit }
}

/// Where finished access records go.
public protocol AccessLogSink: Sendable {
    func record(_ record: AccessRecord)
}

/// Writes access records as JSON lines (stdout by default).
public struct JSONLinesAccessLog: AccessLogSink {
    private let writer: LineWriter

    public init(writer: LineWriter = .standardOutput) {
        self.writer = writer
    }

    public func record(_ record: AccessRecord) {
        writer.write(line: record.jsonLine(timestamp: Timestamp.now()))
    }
}

import GatewayCore

/// Label values of the gateway's metrics, each from a bounded set: configured names (model
/// aliases, providers, targets), fixed words, or HTTP status codes. Nothing a caller can make up
/// (a path, an unknown model name, a key id) becomes a label value.
enum MetricLabels {
    /// The `route` label: the gateway's own routes, `other` for every other path.
    static func route(_ path: String) -> String {
        switch path {
        case "/v1/chat/completions": "/v1/chat/completions"
        case "/v1/embeddings": "/v1/embeddings"
        case "/v1/completions": "/v1/completions"
        case "/v1/moderations": "/v1/moderations"
        case "/v1/messages": "/v1/messages"
        case "/v1/messages/count_tokens": "/v1/messages/count_tokens"
        case "/v1/models": "/v1/models"
        case _ where path.hasPrefix("/v1/models/"): "/v1/models/{id}"
        case "/v1/responses": "/v1/responses"
        case _ where path.hasPrefix("/v1/responses/"): "/v1/responses/{id}"
        default: "other"
        }
    }

    /// `gen_ai_operation_name` of a route; nil for routes that are no GenAI operation.
    static func operation(_ route: String) -> String? {
        switch route {
        case "/v1/chat/completions": "chat"
        case "/v1/embeddings": "embeddings"
        case "/v1/completions": "text_completion"
        case "/v1/messages": "messages"
        case "/v1/messages/count_tokens": "count_tokens"
        case "/v1/responses": "responses"
        default: nil
        }
    }

    /// An HTTP status as a label, `other` outside 100...599.
    static func status(_ status: Int) -> String {
        (100...599).contains(status) ? statusTexts[status - 100] : "other"
    }

    private static let statusTexts = (100...599).map(String.init)

    /// `error_type` of a request: empty when it succeeded (an empty label is no label to
    /// Prometheus), else its outcome (`rate_limited`, `upstream_error`, `timeout`, …).
    static func errorType(_ outcome: Outcome) -> String {
        switch outcome {
        case .ok, .cacheHit: ""
        default: outcome.rawValue
        }
    }

    /// The `result` of one attempt: `ok`, `skipped` (circuit open, provider quota, no price),
    /// `transport_error` (no response head: connect, DNS, TLS, timeout, reset), `http_<status>` for
    /// a provider's error answer, or `invalid_response` for a success status whose body failed.
    static func attemptResult(_ attempt: AttemptRecord) -> String {
        guard attempt.error != nil else { return "ok" }
        if attempt.skipped { return "skipped" }
        guard let status = attempt.status else { return "transport_error" }
        guard (200..<300).contains(status) else {
            return (100...599).contains(status) ? httpResults[status - 100] : "http_other"
        }
        return "invalid_response"
    }

    private static let httpResults = (100...599).map { "http_\($0)" }

    /// How many times a request moved on to another target: consecutive attempts on different
    /// targets (a retry of the same target is no failover).
    static func failovers(_ attempts: [AttemptRecord]) -> Int {
        guard attempts.count > 1 else { return 0 }
        var count = 0
        for index in 1..<attempts.count where attempts[index].target != attempts[index - 1].target {
            count += 1
        }
        return count
    }
}

/// What a rate limit or budget refused: the caller's key, its team, or a provider target's quota.
public enum LimitScope: String, Sendable, CaseIterable {
    case key, caller, team, target

    /// The scope of an admission scope id (`key:…`, `caller:…`, `team:…`, `target:…`).
    init?(scopeID: String) {
        guard let colon = scopeID.utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        self.init(rawValue: String(scopeID[..<colon]))
    }
}

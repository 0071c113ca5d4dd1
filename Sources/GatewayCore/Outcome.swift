/// How a request ended, as the access log's `outcome` field says it (docs/design.md, access log).
public enum Outcome: String, Sendable, Equatable {
    case ok
    case cacheHit = "cache_hit"
    case badRequest = "bad_request"
    case unauthorized
    case forbidden
    case notFound = "not_found"
    case rateLimited = "rate_limited"
    case budgetExceeded = "budget_exceeded"
    case upstreamError = "upstream_error"
    case timeout
    /// The client went away before the answer was complete.
    case clientClosed = "client_closed"
    /// A committed stream ended with an in-band error event instead of its terminator.
    case streamCut = "stream_cut"
}

import Dialects
import GatewayCore

/// The failover class of what went wrong in an attempt (docs/design.md, failover).
enum FailureClass {
    /// A transport failure: a reset may heal on a retry; connect, DNS, TLS failures and timeouts
    /// move on to the next target; the client going away stops.
    static func of(_ failure: UpstreamFailure) -> AttemptFailureClass {
        switch failure.kind {
        case .reset: .transient
        case .cancelled: .fatal
        default: .unavailable
        }
    }

    /// A provider's error answer, as its codec classified it (`ProviderCodec.error(status:body:)`).
    /// A provider's 401/403 and billing problems are about the gateway's account, never relayed as
    /// the caller's own: the next target. A quota 429 or "request too large" never heals by
    /// waiting (the classifiers read them as billing). A context-length 400 may go to a
    /// larger-context fallback. What may heal on the same provider is retried; the rest is the
    /// caller's request and is relayed.
    static func of(_ error: CanonicalError, response: UpstreamResponse) -> AttemptFailureClass {
        switch error.kind {
        case .rateLimited: .rateLimited(retryAfter: retryAfter(response) ?? error.retryAfter)
        case .upstreamAuthentication, .upstreamBilling: .unavailable
        case .contextLength: .contextLength
        default: error.isRetryable ? .transient : .fatal
        }
    }

    /// `retry-after-ms`, then `retry-after` in seconds; absurd values (`1e20`, `inf`) are capped
    /// and negative ones ignored (`RetryPolicy.providerDelay`).
    static func retryAfter(_ response: UpstreamResponse) -> Duration? {
        if let text = response.header("retry-after-ms"), let delay = RetryPolicy.providerDelay(headerMilliseconds: text)
        {
            return delay
        }
        return response.header("retry-after").flatMap(RetryPolicy.providerDelay(headerSeconds:))
    }
}

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

    /// An OpenAI-shaped error answer. A provider's 401/403 is about the gateway's key, never
    /// relayed as the caller's own; `insufficient_quota` and "request too large" 429s never heal
    /// by waiting; a context-length 400 may go to a larger-context fallback.
    static func of(status: Int, response: UpstreamResponse, errorBody: [UInt8]) -> AttemptFailureClass {
        let code = OpenAIProviderCodec.errorCode(inBody: errorBody)
        let message = OpenAIProviderCodec.errorMessage(inBody: errorBody)?.lowercased() ?? ""
        switch status {
        case 401, 403: return .unavailable
        case 408, 409, 500, 502, 503, 504, 529: return .transient
        case 429:
            if code == "insufficient_quota" || message.contains("request too large") { return .unavailable }
            return .rateLimited(retryAfter: retryAfter(response))
        case 400, 413, 422:
            let contextLength =
                code == "context_length_exceeded" || message.contains("maximum context length")
                || message.contains("prompt is too long") || message.contains("context window")
            return contextLength ? .contextLength : .fatal
        default:
            return status >= 500 ? .transient : .fatal
        }
    }

    /// A provider error translated to the canonical model.
    static func of(_ error: CanonicalError, response: UpstreamResponse) -> AttemptFailureClass {
        switch error.kind {
        case .rateLimited: .rateLimited(retryAfter: retryAfter(response) ?? error.retryAfter)
        case .overloaded, .server, .timeout: .transient
        case .upstreamAuthentication, .upstreamBilling: .unavailable
        case .contextLength: .contextLength
        case .invalidRequest, .notFound, .payloadTooLarge: .fatal
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

import GatewayCore

/// What an Anthropic-dialect client is told about a provider's error: the `error.type` of
/// docs/wire/anthropic.md. Failures of the gateway's own provider account (its key, its billing) are
/// `api_error`: they are never the caller's fault.
extension CanonicalError {
    /// Anthropic's `error.type`.
    public var anthropicType: String {
        switch kind {
        case .invalidRequest, .contextLength: "invalid_request_error"
        case .upstreamAuthentication, .upstreamBilling, .server: "api_error"
        case .notFound: "not_found_error"
        case .payloadTooLarge: "request_too_large"
        case .rateLimited: "rate_limit_error"
        case .overloaded: "overloaded_error"
        case .timeout: "timeout_error"
        }
    }

    /// `{"type":"error","error":{"type","message"}}`, the HTTP body and the in-stream `error` data.
    public var anthropicBody: [UInt8] {
        AnthropicErrorBody.bytes(type: anthropicType, message: message)
    }
}

/// The gateway's own errors for an Anthropic-dialect client, typed by their HTTP status.
extension GatewayError {
    /// Anthropic's `error.type` for this error's status.
    public var anthropicType: String {
        switch status {
        case 400, 405: "invalid_request_error"
        case 401: "authentication_error"
        case 402: "billing_error"
        case 403: "permission_error"
        case 404: "not_found_error"
        case 413: "request_too_large"
        case 429: "rate_limit_error"
        case 503: "overloaded_error"
        case 504: "timeout_error"
        case 500...: "api_error"
        default: "invalid_request_error"
        }
    }

    /// `{"type":"error","error":{"type","message"}}`.
    public var anthropicBody: [UInt8] {
        AnthropicErrorBody.bytes(type: anthropicType, message: message)
    }
}

enum AnthropicErrorBody {
    static func bytes(type: String, message: String) -> [UInt8] {
        var json = JSONWriter(capacity: 96 + message.utf8.count)
        json.object {
            $0.field("type", "error")
            $0.key("error")
            $0.object {
                $0.field("type", type)
                $0.field("message", message)
            }
        }
        return json.bytes
    }
}

/// The one error type a request can end with. It carries its own policy: the HTTP status the client
/// sees, the OpenAI error `type` and `code`, the access-log `outcome`, and whether another attempt
/// (the same target again, or the next one) may help.
///
/// Messages are written for the caller and never contain a provider key, a virtual key secret or a
/// stack trace.
public struct GatewayError: Error, Sendable, Equatable {
    public enum Code: String, Sendable {
        case badRequest = "bad_request"
        case unauthorized
        case forbidden
        case notFound = "not_found"
        case methodNotAllowed = "method_not_allowed"
        case payloadTooLarge = "payload_too_large"
        case unsupportedMediaType = "unsupported_media_type"
        case rateLimited = "rate_limited"
        case budgetExceeded = "budget_exceeded"
        case upstreamError = "upstream_error"
        case timeout
        case unavailable
        case internalError = "internal_error"
    }

    public let code: Code
    public let message: String
    /// The request field at fault, when there is one (`"messages"`, `"model"`).
    public let param: String?
    /// Seconds after which the client may try again (`Retry-After`), for 429 and 503.
    public let retryAfterSeconds: Int?
    /// An OpenAI `error.code` of its own, replacing the code's default (`.some(nil)`: null).
    private var codeOverride: String?? = nil

    public init(_ code: Code, _ message: String, param: String? = nil, retryAfterSeconds: Int? = nil) {
        self.code = code
        self.message = message
        self.param = param
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The HTTP status this error is answered with.
    public var status: Int {
        switch code {
        case .badRequest: 400
        case .unauthorized: 401
        case .forbidden: 403
        case .notFound: 404
        case .methodNotAllowed: 405
        case .payloadTooLarge: 413
        case .unsupportedMediaType: 415
        case .rateLimited, .budgetExceeded: 429
        case .upstreamError: 502
        case .timeout: 504
        case .unavailable: 503
        case .internalError: 500
        }
    }

    /// OpenAI's `error.type` for this error.
    public var openAIType: String {
        switch code {
        case .badRequest, .notFound, .methodNotAllowed, .payloadTooLarge, .forbidden, .unsupportedMediaType:
            "invalid_request_error"
        case .unauthorized: "authentication_error"
        case .rateLimited: "rate_limit_exceeded"
        case .budgetExceeded: "budget_exceeded"
        case .upstreamError, .timeout, .unavailable, .internalError: "server_error"
        }
    }

    /// The same error with OpenAI `error.code` `code` (`previous_response_not_found`; nil for null).
    public func withOpenAICode(_ code: String?) -> GatewayError {
        var copy = self
        copy.codeOverride = .some(code)
        return copy
    }

    /// OpenAI's `error.code` for this error (may be nil).
    public var openAICode: String? {
        if let codeOverride { return codeOverride }
        return switch code {
        case .notFound: "model_not_found"
        case .unauthorized: "invalid_api_key"
        case .rateLimited: "rate_limit_exceeded"
        case .budgetExceeded: "budget_exceeded"
        case .payloadTooLarge: "request_too_large"
        case .unsupportedMediaType: "unsupported_media_type"
        case .timeout: "timeout"
        case .upstreamError: "upstream_error"
        default: nil
        }
    }

    /// The access log `outcome`.
    public var outcome: Outcome {
        switch code {
        case .badRequest, .methodNotAllowed, .payloadTooLarge, .unsupportedMediaType: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .rateLimited: .rateLimited
        case .budgetExceeded: .budgetExceeded
        case .upstreamError, .unavailable, .internalError: .upstreamError
        case .timeout: .timeout
        }
    }

    /// The body in OpenAI's error shape: `{"error":{"message","type","param","code"}}`.
    public var openAIBody: [UInt8] {
        Self.openAIBody(message: message, type: openAIType, param: param, code: openAICode)
    }

    /// OpenAI's error shape; all four keys are always present (`param` and `code` may be null).
    public static func openAIBody(message: String, type: String, param: String?, code: String?) -> [UInt8] {
        var json = JSONWriter()
        json.object {
            $0.key("error")
            $0.object {
                $0.field("message", message)
                $0.field("type", type)
                $0.field("param", param)
                $0.field("code", code)
            }
        }
        return json.bytes
    }
}

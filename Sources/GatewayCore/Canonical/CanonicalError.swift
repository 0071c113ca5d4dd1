/// A provider's error, classified in the gateway's terms, with what an OpenAI-dialect client is
/// told. Built by a provider codec from an error body (HTTP or in-stream).
public struct CanonicalError: Error, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case invalidRequest = "invalid_request"
        /// The prompt does not fit the model's context window.
        case contextLength = "context_length"
        /// The provider rejected the gateway's own key (401, 403): never the caller's fault.
        case upstreamAuthentication = "upstream_authentication"
        /// The gateway's provider account has a billing problem (402).
        case upstreamBilling = "upstream_billing"
        case notFound = "not_found"
        case payloadTooLarge = "payload_too_large"
        case rateLimited = "rate_limited"
        /// The provider is overloaded for everyone (Anthropic 529).
        case overloaded
        case timeout
        case server

        /// What an HTTP status alone says; each provider's classifier refines it from the body
        /// (a context-length 400, a quota 429, a gRPC status).
        public init(httpStatus status: Int) {
            switch status {
            case 401, 403: self = .upstreamAuthentication
            case 402: self = .upstreamBilling
            case 404: self = .notFound
            case 408, 504: self = .timeout
            case 409: self = .server
            case 413: self = .payloadTooLarge
            case 429: self = .rateLimited
            case 503, 529: self = .overloaded
            case 400..<500: self = .invalidRequest
            default: self = .server
            }
        }
    }

    public var kind: Kind
    /// The provider's own message; may be shown to the caller.
    public var message: String
    /// The provider's HTTP status, when the error came with one.
    public var upstreamStatus: Int?
    /// The provider's own error type (`overloaded_error`).
    public var upstreamType: String?
    /// How long the provider asked to wait, when it said so in the body (Gemini `RetryInfo`);
    /// headers (`retry-after`) are read by the pipeline.
    public var retryAfter: Duration?

    public init(_ kind: Kind, message: String, upstreamStatus: Int? = nil, upstreamType: String? = nil) {
        self.kind = kind
        self.message = message
        self.upstreamStatus = upstreamStatus
        self.upstreamType = upstreamType
    }

    /// Whether the same request may succeed later on the same provider.
    public var isRetryable: Bool {
        switch kind {
        case .rateLimited, .overloaded, .timeout, .server: true
        default: false
        }
    }

    /// The gateway error an OpenAI-dialect client sees.
    public var gatewayError: GatewayError {
        switch kind {
        case .invalidRequest, .contextLength: GatewayError(.badRequest, message, param: param)
        case .upstreamAuthentication, .upstreamBilling, .server: GatewayError(.upstreamError, message)
        case .notFound: GatewayError(.notFound, message)
        case .payloadTooLarge: GatewayError(.payloadTooLarge, message)
        case .rateLimited: GatewayError(.rateLimited, message)
        case .overloaded: GatewayError(.unavailable, message)
        case .timeout: GatewayError(.timeout, message)
        }
    }

    /// HTTP status for an OpenAI-dialect client (529 becomes 503).
    public var status: Int { gatewayError.status }

    /// OpenAI's `error.type`.
    public var openAIType: String { gatewayError.openAIType }

    /// OpenAI's `error.code`.
    public var openAICode: String? {
        kind == .contextLength ? "context_length_exceeded" : gatewayError.openAICode
    }

    private var param: String? { kind == .contextLength ? "messages" : nil }

    /// `{"error":{"message","type","param","code"}}`.
    public var openAIBody: [UInt8] {
        GatewayError.openAIBody(message: message, type: openAIType, param: param, code: openAICode)
    }
}

import GatewayCore

/// A provider's side of a translated exchange (hub and spoke): a canonical request into the
/// provider's HTTP request, and its answer, stream and errors back into the canonical model. Each
/// provider codec conforms directly; the pipeline needs nothing else of it.
public protocol ProviderCodec {
    associatedtype StreamDecoder: CanonicalStreamDecoder
    /// The provider's name in messages (`Anthropic`, `Azure OpenAI`).
    static var name: String { get }
    static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest
    static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse
    /// The one classification of a provider's error answer.
    static func error(status: Int, body: [UInt8]) -> CanonicalError
    /// The same with the response headers, for providers that name the error in one (Bedrock's
    /// `x-amzn-errortype`); by default the body and status alone.
    static func error(status: Int, headers: [(name: String, value: String)], body: [UInt8]) -> CanonicalError
}

extension ProviderCodec {
    public static func error(status: Int, headers: [(name: String, value: String)], body: [UInt8]) -> CanonicalError {
        error(status: status, body: body)
    }
}

/// A client dialect's side of a translated exchange: its request into the canonical model, the
/// canonical answer, stream and errors back into its own shapes.
public protocol ClientCodec {
    associatedtype StreamEncoder: CanonicalStreamEncoder
    static var dialect: ClientDialect { get }
    static func decode(_ body: [UInt8]) throws(GatewayError) -> CanonicalRequest
    static func encode(_ response: CanonicalResponse, created: Int, model: String) -> [UInt8]
    static func errorBody(_ error: CanonicalError) -> [UInt8]
    static func streamEncoder(model: String, includeUsage: Bool, created: Int) -> StreamEncoder
}

/// The dialect a client speaks on one request: OpenAI on `/v1/chat/completions` and
/// `/v1/embeddings`, Anthropic Messages on `/v1/messages`. It decides how the gateway's own errors
/// are written.
public enum ClientDialect: Sendable {
    case openAI
    case anthropic

    public init(path: String) {
        self = path == "/v1/messages" || path.hasPrefix("/v1/messages/") ? .anthropic : .openAI
    }

    /// An error body in the client's shape.
    public func errorBody(_ error: GatewayError) -> [UInt8] {
        switch self {
        case .openAI: error.openAIBody
        case .anthropic: error.anthropicBody
        }
    }

    /// The in-band event that ends a committed stream with `error` (no terminator follows, so the
    /// client can tell the answer was cut): OpenAI `data: {"error":…}`, Anthropic `event: error`.
    public func streamErrorEvent(_ error: GatewayError) -> [UInt8] {
        switch self {
        case .openAI: Array("data: ".utf8) + error.openAIBody + Array("\n\n".utf8)
        case .anthropic: Array("event: error\ndata: ".utf8) + error.anthropicBody + Array("\n\n".utf8)
        }
    }
}

extension ProviderKind {
    /// The codec that reaches this kind of provider through the canonical model.
    public var codec: any ProviderCodec.Type {
        switch self {
        case .openai: OpenAIProviderCodec.self
        case .azure: AzureProviderCodec.self
        case .anthropic: AnthropicProviderCodec.self
        case .gemini: GeminiProviderCodec.self
        case .bedrock: BedrockProviderCodec.self
        }
    }
}

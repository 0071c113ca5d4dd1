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
    static func decode(_ request: ClientRequest) throws(GatewayError) -> CanonicalRequest
    static func encode(_ response: CanonicalResponse, for request: ClientRequest) -> [UInt8]
    static func errorBody(_ error: CanonicalError) -> [UInt8]
    static func streamEncoder(for request: ClientRequest) -> StreamEncoder
}

/// What a client codec reads and answers: the client's body and what the gateway decided about
/// the answer (the model it reports, when it was made, its id).
public struct ClientRequest: Sendable {
    public var body: [UInt8]
    /// The model the answer names (the target's upstream model).
    public var model: String
    /// Unix seconds for `created` / `created_at`.
    public var created: Int
    /// The client asked for the usage at the end of the stream (OpenAI `include_usage`).
    public var includeUsage: Bool
    /// The id the gateway gives a Responses answer (`resp_…`); other dialects take the provider's.
    public var responseID: String
    /// The items of the stored chain a Responses request continues (`previous_response_id`).
    public var history: [JSONValue]
    /// Unix seconds now (a Responses answer's `completed_at`).
    public var now: @Sendable () -> Int

    public init(
        body: [UInt8], model: String, created: Int, includeUsage: Bool = false, responseID: String = "",
        history: [JSONValue] = [], now: (@Sendable () -> Int)? = nil
    ) {
        self.body = body
        self.model = model
        self.created = created
        self.includeUsage = includeUsage
        self.responseID = responseID
        self.history = history
        self.now = now ?? { created }
    }
}

/// The dialect a client speaks on one request: OpenAI on `/v1/chat/completions` and
/// `/v1/embeddings`, OpenAI Responses on `/v1/responses`, Anthropic Messages on `/v1/messages`. It
/// decides how the gateway's own errors are written.
public enum ClientDialect: Sendable {
    case openAI
    case responses
    case anthropic

    public init(path: String) {
        if path == "/v1/messages" || path.hasPrefix("/v1/messages/") {
            self = .anthropic
        } else if path == "/v1/responses" || path.hasPrefix("/v1/responses/") {
            self = .responses
        } else {
            self = .openAI
        }
    }

    /// An error body in the client's shape (Responses errors are OpenAI's).
    public func errorBody(_ error: GatewayError) -> [UInt8] {
        switch self {
        case .openAI, .responses: error.openAIBody
        case .anthropic: error.anthropicBody
        }
    }

    /// The in-band event that ends a committed stream with `error` (no terminator follows, so the
    /// client can tell the answer was cut): OpenAI `data: {"error":…}`, Anthropic `event: error`,
    /// Responses `event: error` with the error nested (what the SDK raises on) numbered
    /// `sequenceNumber`.
    public func streamErrorEvent(_ error: GatewayError, sequenceNumber: Int = 0) -> [UInt8] {
        switch self {
        case .openAI: Array("data: ".utf8) + error.openAIBody + Array("\n\n".utf8)
        case .anthropic: Array("event: error\ndata: ".utf8) + error.anthropicBody + Array("\n\n".utf8)
        case .responses:
            Array("event: error\ndata: ".utf8)
                + ResponsesErrorEvent.body(
                    type: error.openAIType, code: error.openAICode, message: error.message, param: error.param,
                    sequenceNumber: sequenceNumber) + Array("\n\n".utf8)
        }
    }
}

/// The Responses stream's `error` event: `{"type":"error","sequence_number",…,"error":{type, code,
/// message, param}}`.
public enum ResponsesErrorEvent {
    public static func body(type: String, code: String?, message: String, param: String?, sequenceNumber: Int)
        -> [UInt8]
    {
        var json = JSONWriter(capacity: 256)
        json.object { json in
            json.field("type", "error")
            json.field("sequence_number", sequenceNumber)
            json.key("error")
            json.object { json in
                json.field("type", type)
                json.field("code", code)
                json.field("message", message)
                json.field("param", param)
            }
        }
        return json.bytes
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
        // Vertex serves two wire formats: this is Gemini's; `ProviderConfiguration.codec(forModel:)` picks.
        case .vertex: VertexGeminiProviderCodec.self
        case .bedrock: BedrockProviderCodec.self
        }
    }
}

extension ProviderConfiguration {
    /// The codec that reaches `model` at this provider: the kind's, or on Vertex AI the model's
    /// publisher's (`VertexConfiguration.publisher(forModel:)`).
    public func codec(forModel model: String) -> any ProviderCodec.Type {
        guard kind == .vertex, let vertex = self.vertex else { return kind.codec }
        switch vertex.publisher(forModel: model) {
        case .google: return VertexGeminiProviderCodec.self
        case .anthropic: return VertexAnthropicProviderCodec.self
        }
    }

    /// Claude on Vertex AI: Anthropic-dialect clients reach it by passthrough.
    public func isVertexClaude(model: String) -> Bool {
        kind == .vertex && vertex?.publisher(forModel: model) == .anthropic
    }
}

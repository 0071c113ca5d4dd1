import Dialects
import GatewayCore

/// The dialect a client speaks on one request (docs/design.md §3): OpenAI on `/v1/chat/completions`
/// and `/v1/embeddings`, Anthropic Messages on `/v1/messages`. It decides how the gateway's own
/// errors are written; `ClientCodec` adds what a translated answer needs.
enum ClientDialect: Sendable {
    case openAI
    case anthropic

    init(path: String) {
        self = path == "/v1/messages" || path.hasPrefix("/v1/messages/") ? .anthropic : .openAI
    }

    /// An error body in the client's shape.
    func errorBody(_ error: GatewayError) -> [UInt8] {
        switch self {
        case .openAI: error.openAIBody
        case .anthropic: error.anthropicBody
        }
    }

    /// The in-band event that ends a committed stream with `error` (no terminator follows, so the
    /// client can tell the answer was cut): OpenAI `data: {"error":…}`, Anthropic `event: error`.
    func streamErrorEvent(_ error: GatewayError) -> [UInt8] {
        switch self {
        case .openAI: Array("data: ".utf8) + error.openAIBody + Array("\n\n".utf8)
        case .anthropic: Array("event: error\ndata: ".utf8) + error.anthropicBody + Array("\n\n".utf8)
        }
    }
}

/// A client dialect's side of a translated exchange (hub and spoke): its request into the
/// canonical model, the canonical answer, stream and errors back into its own shapes.
protocol ClientCodec {
    associatedtype Encoder: CanonicalStreamEncoder
    static func decode(_ body: [UInt8]) throws(GatewayError) -> CanonicalRequest
    static func encode(_ response: CanonicalResponse, created: Int, model: String) -> [UInt8]
    static func errorBody(_ error: CanonicalError) -> [UInt8]
    static func streamEncoder(model: String, includeUsage: Bool, created: Int) -> Encoder
    static var dialect: ClientDialect { get }
}

enum OpenAIClient: ClientCodec {
    static let dialect = ClientDialect.openAI

    static func decode(_ body: [UInt8]) throws(GatewayError) -> CanonicalRequest {
        try OpenAIChatRequestDecoder.decode(body)
    }

    static func encode(_ response: CanonicalResponse, created: Int, model: String) -> [UInt8] {
        OpenAIChatResponseEncoder.encode(response, created: created, model: model)
    }

    static func errorBody(_ error: CanonicalError) -> [UInt8] { error.openAIBody }

    static func streamEncoder(model: String, includeUsage: Bool, created: Int) -> OpenAIChunkEncoder {
        OpenAIChunkEncoder(model: model, created: created, includeUsage: includeUsage)
    }
}

enum AnthropicClient: ClientCodec {
    static let dialect = ClientDialect.anthropic

    static func decode(_ body: [UInt8]) throws(GatewayError) -> CanonicalRequest {
        try AnthropicMessagesRequestDecoder.decode(body)
    }

    static func encode(_ response: CanonicalResponse, created: Int, model: String) -> [UInt8] {
        AnthropicMessagesResponseEncoder.encode(response, model: model)
    }

    static func errorBody(_ error: CanonicalError) -> [UInt8] { error.anthropicBody }

    static func streamEncoder(model: String, includeUsage: Bool, created: Int) -> AnthropicEventEncoder {
        AnthropicEventEncoder(model: model)
    }
}

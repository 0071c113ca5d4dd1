import GatewayCore

/// The Anthropic Messages front.
public enum AnthropicMessagesClientCodec: ClientCodec {
    public static let dialect = ClientDialect.anthropic

    public static func decode(_ body: [UInt8]) throws(GatewayError) -> CanonicalRequest {
        try AnthropicMessagesRequestDecoder.decode(body)
    }

    public static func encode(_ response: CanonicalResponse, created: Int, model: String) -> [UInt8] {
        AnthropicMessagesResponseEncoder.encode(response, model: model)
    }

    public static func errorBody(_ error: CanonicalError) -> [UInt8] { error.anthropicBody }

    public static func streamEncoder(model: String, includeUsage: Bool, created: Int) -> AnthropicStreamEncoder {
        AnthropicStreamEncoder(model: model)
    }
}

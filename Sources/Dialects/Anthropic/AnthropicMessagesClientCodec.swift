import GatewayCore

/// The Anthropic Messages front.
public enum AnthropicMessagesClientCodec: ClientCodec {
    public static let dialect = ClientDialect.anthropic

    public static func decode(_ request: ClientRequest) throws(GatewayError) -> CanonicalRequest {
        try AnthropicMessagesRequestDecoder.decode(request.body)
    }

    public static func encode(_ response: CanonicalResponse, for request: ClientRequest) -> [UInt8] {
        AnthropicMessagesResponseEncoder.encode(response, model: request.model)
    }

    public static func errorBody(_ error: CanonicalError) -> [UInt8] { error.anthropicBody }

    public static func streamEncoder(for request: ClientRequest) -> AnthropicStreamEncoder {
        AnthropicStreamEncoder(model: request.model)
    }
}

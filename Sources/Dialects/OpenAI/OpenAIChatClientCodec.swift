import GatewayCore

/// The OpenAI Chat Completions front.
public enum OpenAIChatClientCodec: ClientCodec {
    public static let dialect = ClientDialect.openAI

    public static func decode(_ request: ClientRequest) throws(GatewayError) -> CanonicalRequest {
        try OpenAIChatRequestDecoder.decode(request.body)
    }

    public static func encode(_ response: CanonicalResponse, for request: ClientRequest) -> [UInt8] {
        OpenAIChatResponseEncoder.encode(response, created: request.created, model: request.model)
    }

    public static func errorBody(_ error: CanonicalError) -> [UInt8] { error.openAIBody }

    public static func streamEncoder(for request: ClientRequest) -> OpenAIStreamEncoder {
        OpenAIStreamEncoder(model: request.model, created: request.created, includeUsage: request.includeUsage)
    }
}

import GatewayCore

/// The OpenAI Chat Completions front.
public enum OpenAIChatClientCodec: ClientCodec {
    public static let dialect = ClientDialect.openAI

    public static func decode(_ body: [UInt8]) throws(GatewayError) -> CanonicalRequest {
        try OpenAIChatRequestDecoder.decode(body)
    }

    public static func encode(_ response: CanonicalResponse, created: Int, model: String) -> [UInt8] {
        OpenAIChatResponseEncoder.encode(response, created: created, model: model)
    }

    public static func errorBody(_ error: CanonicalError) -> [UInt8] { error.openAIBody }

    public static func streamEncoder(model: String, includeUsage: Bool, created: Int) -> OpenAIStreamEncoder {
        OpenAIStreamEncoder(model: model, created: created, includeUsage: includeUsage)
    }
}

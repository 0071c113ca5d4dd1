import GatewayCore

/// The OpenAI Responses front (`POST /v1/responses`) for targets that do not speak Responses.
public enum ResponsesClientCodec: ClientCodec {
    public static let dialect = ClientDialect.responses

    public static func decode(_ request: ClientRequest) throws(GatewayError) -> CanonicalRequest {
        try ResponsesRequestDecoder.decode(request.body, history: request.history)
    }

    public static func encode(_ response: CanonicalResponse, for request: ClientRequest) -> [UInt8] {
        ResponsesResponseEncoder.encode(response, envelope: envelope(request))
    }

    public static func errorBody(_ error: CanonicalError) -> [UInt8] { error.openAIBody }

    public static func streamEncoder(for request: ClientRequest) -> ResponsesStreamEncoder {
        ResponsesStreamEncoder(envelope: envelope(request))
    }

    static func envelope(_ request: ClientRequest) -> ResponsesEnvelope {
        ResponsesEnvelope(
            id: request.responseID, createdAt: request.created, model: request.model, requestBody: request.body,
            now: request.now)
    }
}

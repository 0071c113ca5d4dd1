import GatewayCore

/// Gemini models on Vertex AI (`publishers/google`): the Gemini codec's body, answers, streams and
/// errors (Vertex's `createTime`, `trafficType`, index-less candidates, CRLF-framed events and
/// array-wrapped errors are already read there), with Vertex's URL and credential.
///
/// The body differs in nothing the encoder writes: every `contents[]` turn carries its `role`
/// (`user` or `model`), `functionResponse` has no `id`, and no Gemini-API-only field is sent.
/// `labels` is not written (the canonical model has no billing labels).
public enum VertexGeminiProviderCodec {
    public static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest {
        let vertex = VertexEndpoint.settings(provider)
        let method = request.stream ? "streamGenerateContent?alt=sse" : "generateContent"
        return try GeminiProviderCodec.request(
            request,
            url: VertexEndpoint.url(
                baseURL: provider.baseURL, vertex: vertex, publisher: .google, model: request.model, method: method),
            auth: VertexEndpoint.authHeader(vertex, secret: apiKey),
            provider: provider,
            timeouts: timeouts
        )
    }

    public static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        try GeminiProviderCodec.response(body)
    }

    /// Classifies a non-2xx answer (`VertexErrorClassifier`: Gemini's rules, and a "Quota
    /// exceeded" 429 read as billing).
    public static func error(status: Int, body: [UInt8]) -> CanonicalError {
        VertexErrorClassifier.classify(status: status, body: body)
    }
}

extension VertexGeminiProviderCodec: ProviderCodec {
    public static let name = "Vertex AI (Gemini)"
    public typealias StreamDecoder = GeminiStreamDecoder
}

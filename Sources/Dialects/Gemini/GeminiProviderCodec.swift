import GatewayCore

/// Google Gemini API as a provider (`POST {base_url}/v1beta/models/{model}:generateContent`, or
/// `:streamGenerateContent?alt=sse`), translated from and to the canonical model: build the
/// request, parse a response, make a stream decoder, classify an error.
///
/// The key travels in the `x-goog-api-key` header, never in the `?key=` query, so it stays out of
/// URLs and logs.
public enum GeminiProviderCodec {
    /// The upstream request for `request`. A `base_url` that already ends in `/v1beta` is not doubled.
    ///
    /// - Throws: `GatewayError(.badRequest)` for what cannot be translated (see `GeminiRequestEncoder`).
    public static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest {
        try self.request(
            request,
            url: url(baseURL: provider.baseURL, model: request.model, stream: request.stream),
            auth: apiKey.flatMap { $0.isEmpty ? nil : (name: "x-goog-api-key", value: $0) },
            provider: provider,
            timeouts: timeouts
        )
    }

    /// The request at `url` with the credential header `auth`: the Gemini API's, or Vertex AI's
    /// (`VertexGeminiProviderCodec`), whose body is the same.
    static func request(
        _ request: CanonicalRequest,
        url: String,
        auth: (name: String, value: String)?,
        provider: ProviderConfiguration,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest {
        let body = try GeminiRequestEncoder.encode(request)
        var headers: [(name: String, value: String)] = [
            ("content-type", "application/json"),
            ("accept", request.stream ? "text/event-stream" : "application/json"),
        ]
        if let auth { headers.append(auth) }
        return UpstreamRequest(
            method: "POST",
            url: url,
            unixSocket: provider.unixSocket,
            proxy: provider.proxy,
            headers: headers,
            body: body,
            timeouts: timeouts
        )
    }

    static func url(baseURL: String, model: String, stream: Bool) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        if !base.hasSuffix("/v1beta") { base += "/v1beta" }
        var id = model
        if id.hasPrefix("models/") { id.removeFirst("models/".count) }
        let method = stream ? ":streamGenerateContent?alt=sse" : ":generateContent"
        return base + "/models/" + URLPath.segment(id) + method
    }

    /// Parses a 2xx non-stream body.
    public static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        try GeminiResponseDecoder.decode(body)
    }

    /// A decoder for one streamed answer.
    public static func streamDecoder() -> GeminiStreamDecoder {
        GeminiStreamDecoder()
    }

    /// Classifies a non-2xx answer.
    public static func error(status: Int, body: [UInt8]) -> CanonicalError {
        GeminiErrorClassifier.classify(status: status, body: body)
    }
}

extension GeminiProviderCodec: ProviderCodec {
    public static let name = "Gemini"
    public typealias StreamDecoder = GeminiStreamDecoder
}

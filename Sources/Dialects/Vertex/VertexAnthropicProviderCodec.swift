import GatewayCore

/// Claude models on Vertex AI (`publishers/anthropic`, docs/wire/vertex.md §4): `:rawPredict`, or
/// `:streamRawPredict` for a stream, with the Anthropic Messages body edited by `VertexClaudeBody`
/// (no `model`, `anthropic_version` in the body), an OAuth2 bearer token, and no `x-api-key` or
/// `anthropic-version` header. Answers and streams are Anthropic's (`vertex_event` is ignored by
/// the decoder and dropped by `AnthropicStreamRelay` on passthrough); errors come in Google's
/// `google.rpc.Status` shape (quota, auth, not found; sometimes array-wrapped) or Anthropic's
/// (model-level validation), and each is classified by its own dialect's rules.
public enum VertexAnthropicProviderCodec {
    /// The upstream request for a translated (canonical) request.
    ///
    /// - Throws: `GatewayError(.badRequest)` for what cannot be translated (see
    ///   `AnthropicMessagesRequestEncoder`), and for an express-mode provider (API keys do not
    ///   reach Claude).
    public static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest {
        let body = try AnthropicMessagesRequestEncoder.encode(
            request, defaultMaxTokens: AnthropicProviderCodec.defaultMaxTokens)
        return try rawPredict(
            body: VertexClaudeBody.edit(body), model: request.model, provider: provider, secret: apiKey,
            stream: request.stream, timeouts: timeouts, beta: nil)
    }

    /// The upstream request for an Anthropic-dialect client's own body, passed through with only
    /// `VertexClaudeBody`'s edit; `anthropic-beta` goes along as a header.
    public static func passthroughRequest(
        body: [UInt8],
        model: String,
        provider: ProviderConfiguration,
        secret: String?,
        stream: Bool,
        timeouts: TimeoutConfiguration,
        beta: String?
    ) throws(GatewayError) -> UpstreamRequest {
        try rawPredict(
            body: VertexClaudeBody.edit(body), model: model, provider: provider, secret: secret, stream: stream,
            timeouts: timeouts, beta: beta)
    }

    /// `POST …/publishers/anthropic/models/count-tokens:rawPredict` for an Anthropic client's
    /// `count_tokens` body: the one Vertex call whose body keeps `model` (the Vertex id, `@` before
    /// the date), plus `anthropic_version`.
    public static func countTokensRequest(
        body: [UInt8],
        provider: ProviderConfiguration,
        secret: String?,
        timeouts: TimeoutConfiguration,
        beta: String?
    ) throws(GatewayError) -> UpstreamRequest {
        try rawPredict(
            body: VertexClaudeBody.edit(body, keepingModel: true), model: "count-tokens", provider: provider,
            secret: secret, stream: false, timeouts: timeouts, beta: beta)
    }

    private static func rawPredict(
        body: [UInt8],
        model: String,
        provider: ProviderConfiguration,
        secret: String?,
        stream: Bool,
        timeouts: TimeoutConfiguration,
        beta: String?
    ) throws(GatewayError) -> UpstreamRequest {
        let vertex = VertexEndpoint.settings(provider)
        guard vertex.credentials != .apiKey else {
            throw GatewayError(
                .badRequest,
                "Claude models on Vertex AI need OAuth2 credentials; provider \(provider.name) has an API key "
                    + "(express mode serves Gemini models only).")
        }
        var headers: [(name: String, value: String)] = [
            ("content-type", "application/json"),
            ("accept", stream ? "text/event-stream" : "application/json"),
        ]
        if let beta, !beta.isEmpty { headers.append(("anthropic-beta", beta)) }
        if let auth = VertexEndpoint.authHeader(vertex, secret: secret) { headers.append(auth) }
        return UpstreamRequest(
            method: "POST",
            url: VertexEndpoint.url(
                baseURL: provider.baseURL, vertex: vertex, publisher: .anthropic,
                model: VertexEndpoint.claudeModelID(model), method: stream ? "streamRawPredict" : "rawPredict"),
            unixSocket: provider.unixSocket,
            proxy: provider.proxy,
            headers: headers,
            body: body,
            timeouts: timeouts
        )
    }

    public static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        try AnthropicProviderCodec.response(body)
    }

    /// Classifies a non-2xx answer: Google's shape (`{"error":{"code","status",…}}`, or an array
    /// of one) by the Gemini rules, Anthropic's (`{"type":"error","error":{…}}`) by Anthropic's
    /// (`VertexErrorClassifier`).
    public static func error(status: Int, body: [UInt8]) -> CanonicalError {
        VertexErrorClassifier.classify(status: status, body: body)
    }
}

extension VertexAnthropicProviderCodec: ProviderCodec {
    public static let name = "Vertex AI (Claude)"
    public typealias StreamDecoder = AnthropicStreamDecoder
}

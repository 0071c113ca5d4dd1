import GatewayCore

/// Anthropic Messages API as a provider (`POST {base_url}/v1/messages`), translated from and to the
/// canonical model: build the request, parse a response, make a stream decoder, classify an error.
public enum AnthropicProviderCodec {
    public static let defaultVersion = "2023-06-01"
    /// `max_tokens` when the client set none (Anthropic requires it).
    public static let defaultMaxTokens = 4096

    /// The upstream request for `request`. A `base_url` that already ends in `/v1` is not doubled.
    ///
    /// - Throws: `GatewayError(.badRequest)` for what cannot be translated (see
    ///   `AnthropicMessagesRequestEncoder`).
    public static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration,
        version: String = defaultVersion,
        defaultMaxTokens: Int = defaultMaxTokens
    ) throws(GatewayError) -> UpstreamRequest {
        var body = try AnthropicMessagesRequestEncoder.encode(request, defaultMaxTokens: defaultMaxTokens)
        if provider.autoCacheControl || request.cacheMarks != CanonicalCacheMarks() {
            body = AnthropicPromptCache.markingBreakpoints(body)
        }
        var headers: [(name: String, value: String)] = [
            ("content-type", "application/json"),
            ("accept", request.stream ? "text/event-stream" : "application/json"),
            ("anthropic-version", version),
        ]
        if let apiKey, !apiKey.isEmpty { headers.append(("x-api-key", apiKey)) }
        return UpstreamRequest(
            method: "POST",
            url: messagesURL(baseURL: provider.baseURL),
            unixSocket: provider.unixSocket,
            proxy: provider.proxy,
            headers: headers,
            body: body,
            timeouts: timeouts
        )
    }

    /// The upstream request for an Anthropic-dialect client's own body, passed through: `path` is
    /// `messages` or `messages/count_tokens`. The client's `anthropic-version` (else the default)
    /// and `anthropic-beta` go along; the key is the gateway's.
    public static func passthroughRequest(
        path: String,
        body: [UInt8],
        provider: ProviderConfiguration,
        apiKey: String?,
        stream: Bool,
        timeouts: TimeoutConfiguration,
        version: String?,
        beta: String?
    ) -> UpstreamRequest {
        var headers: [(name: String, value: String)] = [
            ("content-type", "application/json"),
            ("accept", stream ? "text/event-stream" : "application/json"),
            ("anthropic-version", version ?? defaultVersion),
        ]
        if let beta, !beta.isEmpty { headers.append(("anthropic-beta", beta)) }
        if let apiKey, !apiKey.isEmpty { headers.append(("x-api-key", apiKey)) }
        return UpstreamRequest(
            method: "POST",
            url: messagesURL(baseURL: provider.baseURL, path: path),
            unixSocket: provider.unixSocket,
            proxy: provider.proxy,
            headers: headers,
            body: body,
            timeouts: timeouts
        )
    }

    static func messagesURL(baseURL: String, path: String = "messages") -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base.hasSuffix("/v1") ? base + "/" + path : base + "/v1/" + path
    }

    /// Parses a 2xx non-stream body.
    public static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        try AnthropicMessagesResponseDecoder.decode(body)
    }

    /// A decoder for one streamed answer.
    public static func streamDecoder() -> AnthropicStreamDecoder {
        AnthropicStreamDecoder()
    }

    /// Classifies a non-2xx answer.
    public static func error(status: Int, body: [UInt8]) -> CanonicalError {
        AnthropicErrorClassifier.classify(status: status, body: body)
    }
}

extension AnthropicProviderCodec: ProviderCodec {
    public static let name = "Anthropic"
    public typealias StreamDecoder = AnthropicStreamDecoder

    public static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest {
        try Self.request(
            request, provider: provider, apiKey: apiKey, timeouts: timeouts, version: defaultVersion,
            defaultMaxTokens: defaultMaxTokens)
    }
}

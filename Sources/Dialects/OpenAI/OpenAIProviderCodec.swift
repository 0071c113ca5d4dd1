import GatewayCore

/// Builds requests for OpenAI-compatible providers (`kind: openai`) and reads their errors.
/// The client's body passes through (see `RequestInspection`); only the URL and the auth header
/// are the provider's own.
public enum OpenAIProviderCodec {
    public static func request(
        path: String,
        body: [UInt8],
        provider: ProviderConfiguration,
        apiKey: String?,
        stream: Bool,
        timeouts: TimeoutConfiguration
    ) -> UpstreamRequest {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        headers.append(("Accept", stream ? "text/event-stream" : "application/json"))
        if let apiKey, !apiKey.isEmpty { headers.append(("Authorization", "Bearer \(apiKey)")) }
        return UpstreamRequest(
            method: "POST",
            url: provider.baseURL + path,
            unixSocket: provider.unixSocket,
            proxy: provider.proxy,
            headers: headers,
            body: body,
            timeouts: timeouts
        )
    }

    /// `error.code` of an OpenAI-shaped error body, if it has one.
    public static func errorCode(inBody body: [UInt8]) -> String? {
        guard let scan = try? JSONScanner.scanObject(body), let error = scan.member("error"), error.kind == .object,
            let inner = try? JSONScanner.scanObject(body, in: error.valueRange), let code = inner.member("code")
        else { return nil }
        return JSONScanner.string(body, at: code.valueRange)
    }

    /// `error.message` of an OpenAI-shaped error body, if it has one.
    public static func errorMessage(inBody body: [UInt8]) -> String? {
        guard let scan = try? JSONScanner.scanObject(body), let error = scan.member("error") else { return nil }
        if error.kind == .string { return JSONScanner.string(body, at: error.valueRange) }
        guard error.kind == .object, let inner = try? JSONScanner.scanObject(body, in: error.valueRange),
            let message = inner.member("message")
        else { return nil }
        return JSONScanner.string(body, at: message.valueRange)
    }
}

/// An OpenAI-compatible provider reached from another client dialect (an Anthropic-dialect client).
extension OpenAIProviderCodec: ProviderCodec {
    public static let name = "OpenAI"
    public typealias StreamDecoder = OpenAIStreamDecoder

    public static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest {
        Self.request(
            path: "/chat/completions", body: chatBody(request), provider: provider, apiKey: apiKey,
            stream: request.stream, timeouts: timeouts)
    }

    public static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        try OpenAIChatResponseDecoder.decode(body)
    }

    /// A canonical request as an OpenAI chat body (also Azure's). A stream asks for the usage chunk:
    /// it is how the gateway learns what a stream cost.
    static func chatBody(_ request: CanonicalRequest) -> [UInt8] {
        var request = request
        request.includeUsage = request.stream
        return OpenAIChatRequestEncoder.encode(request)
    }
}

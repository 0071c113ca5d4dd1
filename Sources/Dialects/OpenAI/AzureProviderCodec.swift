import GatewayCore

/// Azure OpenAI (`kind: azure`): the OpenAI body passes through as for `kind: openai`; only the
/// URL and the auth header are Azure's. Two URL forms:
/// - `base_url` = `https://RESOURCE.openai.azure.com`: the deployment path,
///   `/openai/deployments/{target model}/chat/completions?api-version={api_version}`;
/// - `base_url` ending in `/openai/v1`: the v1 path, `/chat/completions`, model in the body.
/// Azure's first stream chunk (`"choices":[]` with `prompt_filter_results`) is preamble to the
/// relay, and its content-filter 400 is relayed as the client's error.
public enum AzureProviderCodec {
    public static func request(
        path: String,
        body: [UInt8],
        deployment: String,
        provider: ProviderConfiguration,
        apiKey: String?,
        stream: Bool,
        timeouts: TimeoutConfiguration
    ) -> UpstreamRequest {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        headers.append(("Accept", stream ? "text/event-stream" : "application/json"))
        if let apiKey, !apiKey.isEmpty { headers.append(("api-key", apiKey)) }
        return UpstreamRequest(
            method: "POST",
            url: url(path: path, deployment: deployment, provider: provider),
            unixSocket: provider.unixSocket,
            proxy: provider.proxy,
            headers: headers,
            body: body,
            timeouts: timeouts
        )
    }

    static func url(path: String, deployment: String, provider: ProviderConfiguration) -> String {
        var base = provider.baseURL
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasSuffix("/openai/v1") { return base + path }
        let version = provider.apiVersion ?? "2024-10-21"
        if path == "/responses" {
            // Not per deployment: the deployment is the body's `model`.
            return base + "/openai/responses?api-version=" + URLPath.segment(version)
        }
        return base + "/openai/deployments/" + URLPath.segment(deployment) + path + "?api-version="
            + URLPath.segment(version)
    }
}

/// Azure OpenAI from another client dialect: OpenAI's body and answers, Azure's URL and auth (the
/// target's model is the deployment).
extension AzureProviderCodec: ProviderCodec {
    public static let name = "Azure OpenAI"
    public typealias StreamDecoder = OpenAIStreamDecoder

    public static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest {
        Self.request(
            path: "/chat/completions", body: OpenAIProviderCodec.chatBody(request), deployment: request.model,
            provider: provider, apiKey: apiKey, stream: request.stream, timeouts: timeouts)
    }

    public static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        try OpenAIProviderCodec.response(body)
    }

    public static func error(status: Int, body: [UInt8]) -> CanonicalError {
        OpenAIProviderCodec.error(status: status, body: body)
    }
}

import GatewayCore

/// AWS Bedrock Runtime's Converse API as a provider (`POST {base_url}/model/{modelId}/converse`,
/// or `/converse-stream` for a binary event stream), translated from and to the canonical model:
/// build the request, parse a response, make a stream decoder, classify an error.
///
/// The model id is one path segment: `:` travels as `%3A` and the `/` of an ARN as `%2F`. With a
/// Bedrock API key the request carries `Authorization: Bearer`; otherwise it is marked for SigV4
/// (`awsSigning`, service `bedrock`, the provider's region) and signed when it is sent, with every
/// header it then has (`AWSSigV4Signer`).
public enum BedrockProviderCodec {
    /// The SigV4 signing name of the runtime endpoint.
    public static let signingName = "bedrock"

    /// The upstream request for `request`.
    ///
    /// - Throws: `GatewayError(.badRequest)` for what cannot be translated (see `BedrockRequestEncoder`).
    public static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest {
        let body = try BedrockRequestEncoder.encode(request, autoCacheControl: provider.autoCacheControl)
        var headers: [(name: String, value: String)] = [
            ("content-type", "application/json"),
            ("accept", request.stream ? "application/vnd.amazon.eventstream" : "application/json"),
        ]
        var signing: AWSSigningScope?
        if let apiKey, !apiKey.isEmpty {
            headers.append(("authorization", "Bearer \(apiKey)"))
        } else {
            let region =
                provider.aws?.region ?? AWSProviderConfiguration.region(inURL: provider.baseURL) ?? "us-east-1"
            signing = AWSSigningScope(region: region, service: signingName)
        }
        var upstream = UpstreamRequest(
            method: "POST",
            url: url(baseURL: provider.baseURL, model: request.model, stream: request.stream),
            unixSocket: provider.unixSocket,
            proxy: provider.proxy,
            headers: headers,
            body: body,
            timeouts: timeouts
        )
        upstream.awsSigning = signing
        return upstream
    }

    /// `{base}/model/{percent-encoded id}/converse[-stream]`.
    public static func url(baseURL: String, model: String, stream: Bool) -> String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/model/" + URLPath.segment(model) + (stream ? "/converse-stream" : "/converse")
    }

    /// Parses a 2xx non-stream body.
    public static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        try BedrockResponseDecoder.decode(body)
    }

    /// Classifies a non-2xx answer by its body and status alone (see `error(status:headers:body:)`).
    public static func error(status: Int, body: [UInt8]) -> CanonicalError {
        BedrockErrorClassifier.classify(status: status, headers: [], body: body)
    }

    /// Classifies a non-2xx answer; the error's name is in `x-amzn-errortype`.
    public static func error(status: Int, headers: [(name: String, value: String)], body: [UInt8]) -> CanonicalError {
        BedrockErrorClassifier.classify(status: status, headers: headers, body: body)
    }
}

extension BedrockProviderCodec: ProviderCodec {
    public static let name = "Bedrock"
    public typealias StreamDecoder = BedrockStreamDecoder
}

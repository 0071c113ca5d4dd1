import Dialects
import GatewayCore

/// A provider dialect reached through the canonical model (hub and spoke): the pipeline needs
/// only these operations of its codec.
protocol TranslatingDialect {
    associatedtype Decoder: CanonicalStreamDecoder
    static var name: String { get }
    static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest
    static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse
    static func error(status: Int, body: [UInt8]) -> CanonicalError
}

enum AnthropicDialect: TranslatingDialect {
    static let name = "Anthropic"

    static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest {
        try AnthropicProviderCodec.request(request, provider: provider, apiKey: apiKey, timeouts: timeouts)
    }

    static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        try AnthropicProviderCodec.response(body)
    }

    static func error(status: Int, body: [UInt8]) -> CanonicalError {
        AnthropicProviderCodec.error(status: status, body: body)
    }

    typealias Decoder = AnthropicStreamDecoder
}

enum GeminiDialect: TranslatingDialect {
    static let name = "Gemini"

    static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest {
        try GeminiProviderCodec.request(request, provider: provider, apiKey: apiKey, timeouts: timeouts)
    }

    static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        try GeminiProviderCodec.response(body)
    }

    static func error(status: Int, body: [UInt8]) -> CanonicalError {
        GeminiProviderCodec.error(status: status, body: body)
    }

    typealias Decoder = GeminiStreamDecoder
}

/// An OpenAI-compatible provider behind another client dialect (an Anthropic-dialect client).
enum OpenAIDialect: OpenAIShapedDialect {
    static let name = "OpenAI"

    static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest {
        var request = request
        // The usage chunk is how the gateway learns what a stream cost.
        request.includeUsage = request.stream
        return OpenAIProviderCodec.request(
            path: "/chat/completions",
            body: OpenAIChatRequestEncoder.encode(request),
            provider: provider,
            apiKey: apiKey,
            stream: request.stream,
            timeouts: timeouts
        )
    }
}

/// Azure OpenAI behind another client dialect: OpenAI's body and answers, Azure's URL and auth.
enum AzureDialect: OpenAIShapedDialect {
    static let name = "Azure OpenAI"

    static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest {
        var request = request
        request.includeUsage = request.stream
        return AzureProviderCodec.request(
            path: "/chat/completions",
            body: OpenAIChatRequestEncoder.encode(request),
            deployment: request.model,
            provider: provider,
            apiKey: apiKey,
            stream: request.stream,
            timeouts: timeouts
        )
    }
}

/// OpenAI's answers and errors, whatever the URL and auth (OpenAI-compatible servers, Azure).
protocol OpenAIShapedDialect: TranslatingDialect where Decoder == OpenAIStreamDecoder {}

extension OpenAIShapedDialect {
    static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse {
        try OpenAIChatResponseDecoder.decode(body)
    }

    static func error(status: Int, body: [UInt8]) -> CanonicalError {
        OpenAIProviderCodec.error(status: status, body: body)
    }
}

extension ProviderKind {
    /// The provider side of a translated exchange.
    var translatingDialect: any TranslatingDialect.Type { Self.translatingDialect(self) }

    private static func translatingDialect(_ kind: ProviderKind) -> any TranslatingDialect.Type {
        switch kind {
        case .openai: OpenAIDialect.self
        case .azure: AzureDialect.self
        case .anthropic: AnthropicDialect.self
        case .gemini: GeminiDialect.self
        }
    }
}

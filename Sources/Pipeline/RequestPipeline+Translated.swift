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

extension RequestPipeline {
    /// One attempt at a target whose dialect differs from the client's: the request goes through
    /// the canonical model, the answer (JSON or stream) is translated back, and the provider's
    /// errors are classified for failover or relayed in the client's shape.
    func attemptTranslated<Dialect: TranslatingDialect, Client: ClientCodec>(
        _ dialect: Dialect.Type,
        for client: Client.Type,
        _ target: RouteTarget,
        summary: OpenAIRequestSummary,
        endpoint: OpenAIPassthrough.Endpoint,
        exchange: inout Exchange,
        writer: some ResponseWriter
    ) async throws(AttemptFailure) {
        let recorder = AttemptRecorder(target: target)
        func refuse(_ error: GatewayError) -> AttemptFailure {
            .final(
                status: error.status,
                contentType: "application/json",
                body: Client.dialect.errorBody(error),
                contextLength: false
            )
        }
        guard endpoint != .embeddings else {
            throw refuse(
                GatewayError(.badRequest, "Embeddings are not available from \(Dialect.name) (\(target.label)).")
            )
        }
        let upstreamRequest: UpstreamRequest
        do {
            var canonical = try Client.decode(exchange.request.body)
            canonical.model = target.upstreamModel
            upstreamRequest = try Dialect.request(
                canonical,
                provider: target.provider,
                apiKey: keyring.key(for: target.provider.name),
                timeouts: target.timeouts
            )
        } catch {
            throw refuse(error)
        }
        let response = try await send(upstreamRequest, recorder: recorder, exchange: &exchange)
        guard (200..<300).contains(response.status) else {
            let error = Dialect.error(
                status: response.status, body: await errorBody(response, exchange: &exchange))
            let refusal = ProviderRefusal(
                label: "HTTP \(response.status) (\(Self.truncate(scrub(error.message))))",
                failureClass: Self.classify(error, response: response),
                status: error.status,
                contentType: "application/json",
                body: Client.errorBody(error)
            )
            throw refused(refusal, recorder: recorder, exchange: &exchange)
        }
        answering(target, exchange: &exchange)
        let created = Timestamp.epochSeconds()
        if summary.stream {
            try await relayStream(
                response,
                translator: CanonicalStreamTranslator<Dialect.Decoder, Client.Encoder>(
                    encoder: Client.streamEncoder(
                        model: target.upstreamModel,
                        includeUsage: summary.clientWantsStreamUsage,
                        created: created
                    )
                ),
                exchange: &exchange,
                writer: writer
            ) { status, error in
                recorder.record(status: status, error: error)
            }
            return
        }
        let answer = try await collect(response, recorder: recorder, exchange: &exchange)
        let translated: CanonicalResponse
        do {
            translated = try Dialect.response(answer)
        } catch {
            throw .failed(
                recorder.record(status: response.status, error: "unreadable answer: \(error.message)"), .transient,
                timeout: false)
        }
        await deliver(
            Client.encode(translated, created: created, model: target.upstreamModel),
            status: 200,
            contentType: "application/json",
            usage: translated.usage,
            attempt: recorder.record(status: response.status, error: nil),
            exchange: &exchange,
            writer: writer
        )
    }

    /// Failover class of a provider error translated to the canonical model.
    static func classify(_ error: CanonicalError, response: UpstreamResponse) -> AttemptFailureClass {
        switch error.kind {
        case .rateLimited: .rateLimited(retryAfter: retryAfter(response) ?? error.retryAfter)
        case .overloaded, .server, .timeout: .transient
        case .upstreamAuthentication, .upstreamBilling: .unavailable
        case .contextLength: .contextLength
        case .invalidRequest, .notFound, .payloadTooLarge: .fatal
        }
    }
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

extension RequestPipeline {
    /// The provider side of a translated exchange, by target kind.
    static func translatingDialect(_ kind: ProviderKind) -> any TranslatingDialect.Type {
        switch kind {
        case .openai: OpenAIDialect.self
        case .azure: AzureDialect.self
        case .anthropic: AnthropicDialect.self
        case .gemini: GeminiDialect.self
        }
    }
}

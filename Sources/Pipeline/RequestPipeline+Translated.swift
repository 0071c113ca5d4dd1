import Dialects
import GatewayCore

/// A provider dialect reached through the canonical model (hub and spoke): the pipeline needs
/// only these four operations of its codec.
protocol TranslatingDialect {
    associatedtype Stream: StreamTranslator
    static var name: String { get }
    static func request(
        _ request: CanonicalRequest,
        provider: ProviderConfiguration,
        apiKey: String?,
        timeouts: TimeoutConfiguration
    ) throws(GatewayError) -> UpstreamRequest
    static func response(_ body: [UInt8]) throws(CanonicalError) -> CanonicalResponse
    static func error(status: Int, body: [UInt8]) -> CanonicalError
    static func stream(model: String, includeUsage: Bool, created: Int) -> Stream
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

    static func stream(model: String, includeUsage: Bool, created: Int) -> AnthropicToOpenAIStream {
        AnthropicToOpenAIStream(model: model, includeUsage: includeUsage, created: created)
    }
}

extension RequestPipeline {
    /// One attempt at a target whose dialect is translated (`kind: anthropic`) for an
    /// OpenAI-dialect client: the request goes through the canonical model, the answer (JSON or
    /// stream) is translated back, and the provider's errors are classified for failover or
    /// relayed in OpenAI's shape.
    func attemptTranslated<Dialect: TranslatingDialect>(
        _ dialect: Dialect.Type,
        _ target: RouteTarget,
        summary: OpenAIRequestSummary,
        endpoint: OpenAIPassthrough.Endpoint,
        exchange: inout Exchange,
        writer: some ResponseWriter
    ) async throws(AttemptFailure) {
        let recorder = AttemptRecorder(target: target)
        func refuse(_ error: GatewayError) -> AttemptFailure {
            .final(status: error.status, contentType: "application/json", body: error.openAIBody, contextLength: false)
        }
        guard endpoint == .chatCompletions else {
            throw refuse(
                GatewayError(.badRequest, "Embeddings are not available from \(Dialect.name) (\(target.label)).")
            )
        }
        let upstreamRequest: UpstreamRequest
        do {
            var canonical = try OpenAIChatRequestDecoder.decode(exchange.request.body)
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
                body: error.openAIBody
            )
            throw refused(refusal, recorder: recorder, exchange: &exchange)
        }
        answering(target, exchange: &exchange)
        let created = Timestamp.epochSeconds()
        if summary.stream {
            try await relayStream(
                response,
                translator: Dialect.stream(
                    model: target.upstreamModel,
                    includeUsage: summary.clientWantsStreamUsage,
                    created: created
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
        let body = OpenAIChatResponseEncoder.encode(translated, created: created, model: target.upstreamModel)
        exchange.record.attempts.append(recorder.record(status: response.status, error: nil))
        exchange.record.usage = translated.usage
        exchange.record.status = 200
        exchange.capturedContentType = "application/json"
        exchange.capture(body)
        exchange.markFirstByte()
        let headers = exchange.responseHeaders([("content-type", "application/json")])
        do {
            try await exchange.waiting { try await writer.writeComplete(status: 200, headers: headers, body: body) }
        } catch {
            exchange.record.outcome = "client_closed"
        }
    }

    /// Failover class of a provider error translated to the canonical model.
    static func classify(_ error: CanonicalError, response: UpstreamResponse) -> AttemptFailureClass {
        switch error.kind {
        case .rateLimited: .rateLimited(retryAfter: retryAfter(response))
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

    static func stream(model: String, includeUsage: Bool, created: Int) -> GeminiToOpenAIStream {
        GeminiToOpenAIStream(model: model, includeUsage: includeUsage, created: created)
    }
}

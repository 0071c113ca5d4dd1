import Dialects
import GatewayCore

extension RequestPipeline {
    /// One attempt at a `kind: anthropic` target for an OpenAI-dialect client: the request is
    /// translated through the canonical model, the answer (JSON or stream) translated back, and
    /// Anthropic's errors classified for failover or relayed in OpenAI's shape.
    func attemptAnthropic(
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
            throw refuse(GatewayError(.badRequest, "Embeddings are not available from Anthropic (\(target.label))."))
        }
        let upstreamRequest: UpstreamRequest
        do {
            var canonical = try OpenAIChatRequestDecoder.decode(exchange.request.body)
            canonical.model = target.upstreamModel
            upstreamRequest = try AnthropicProviderCodec.request(
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
            let error = AnthropicProviderCodec.error(
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
                translator: AnthropicToOpenAIStream(
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
            translated = try AnthropicProviderCodec.response(answer)
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

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
        let started = ContinuousClock.now
        func record(status: Int?, error: String?) -> AttemptRecord {
            AttemptRecord(
                target: target.label,
                status: status,
                error: error,
                milliseconds: (ContinuousClock.now - started) / .milliseconds(1)
            )
        }
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
        let response: UpstreamResponse
        do {
            response = try await exchange.waiting { () async throws(UpstreamFailure) in
                try await transport.send(upstreamRequest)
            }
            exchange.lastHeadMicros = Int64((ContinuousClock.now - started) / .microseconds(1))
        } catch {
            throw .failed(record(status: nil, error: error.description), Self.classify(error), timeout: error.isTimeout)
        }

        guard (200..<300).contains(response.status) else {
            let errorBody =
                (try? await exchange.waiting { () async throws(UpstreamFailure) in
                    try await response.body.collect(upTo: 1024 * 1024)
                }) ?? []
            let error = AnthropicProviderCodec.error(status: response.status, body: errorBody)
            let label = "HTTP \(response.status) (\(Self.truncate(scrub(error.message))))"
            let failureClass = Self.classify(error, response: response)
            guard failureClass == .fatal || failureClass == .contextLength else {
                throw .failed(record(status: response.status, error: label), failureClass, timeout: false)
            }
            exchange.record.attempts.append(record(status: response.status, error: label))
            exchange.record.provider = target.provider.name
            exchange.record.upstreamModel = target.upstreamModel
            exchange.record.errorMessage = label
            throw .final(
                status: error.status,
                contentType: "application/json",
                body: scrubBody(error.openAIBody),
                contextLength: failureClass == .contextLength
            )
        }

        exchange.record.provider = target.provider.name
        exchange.record.upstreamModel = target.upstreamModel
        exchange.servedPrice = target.price
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
                record(status: status, error: error)
            }
            return
        }
        let answer: [UInt8]
        do {
            answer = try await exchange.waiting { () async throws(UpstreamFailure) in
                try await response.body.collect(upTo: Self.maximumUpstreamBodyBytes)
            }
        } catch {
            throw .failed(
                record(status: response.status, error: error.description), Self.classify(error),
                timeout: error.isTimeout)
        }
        let translated: CanonicalResponse
        do {
            translated = try AnthropicProviderCodec.response(answer)
        } catch {
            throw .failed(
                record(status: response.status, error: "unreadable answer: \(error.message)"), .transient,
                timeout: false)
        }
        let body = OpenAIChatResponseEncoder.encode(translated, created: created, model: target.upstreamModel)
        exchange.record.attempts.append(record(status: response.status, error: nil))
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

import Dialects
import GatewayCore

/// One attempt at a target whose dialect differs from the client's (hub and spoke): the request
/// goes through the canonical model, the answer (JSON or stream) is translated back, and the
/// provider's errors are classified for failover or relayed in the client's shape.
struct TranslatedAttempt {
    let context: AttemptContext

    func run<Provider: ProviderCodec, Client: ClientCodec>(
        _ provider: Provider.Type,
        for client: Client.Type,
        _ target: RouteTarget,
        _ request: AttemptRequest,
        exchange: inout Exchange,
        answer: inout Answer,
        writer: some ResponseWriter
    ) async throws(AttemptFailure) {
        let summary = request.summary
        let recorder = AttemptRecorder(target: target)
        func refuse(_ error: GatewayError) -> AttemptFailure {
            .refused(
                ProviderRefusal(
                    status: error.status, contentType: "application/json", body: Client.dialect.errorBody(error),
                    contextLength: false))
        }
        guard request.endpoint != .embeddings else {
            throw refuse(
                GatewayError(.badRequest, "Embeddings are not available from \(Provider.name) (\(target.label)).")
            )
        }
        guard request.endpoint != .moderations else {
            throw refuse(
                GatewayError(
                    .badRequest,
                    "Moderations (/v1/moderations) are served only by OpenAI-compatible targets, not by "
                        + "\(Provider.name) (\(target.label))."))
        }
        guard request.endpoint != .completions else {
            throw refuse(
                GatewayError(
                    .badRequest,
                    "Text completions (/v1/completions) are served only by OpenAI-compatible targets, not by "
                        + "\(Provider.name) (\(target.label)); use /v1/chat/completions."))
        }
        let clock = context.clock
        let client = ClientRequest(
            body: exchange.request.body, model: target.upstreamModel, created: Int(clock.nowMillis() / 1000),
            includeUsage: summary.clientWantsStreamUsage, responseID: request.responses?.id ?? "",
            history: request.responses?.history?.items ?? [], now: { Int(clock.nowMillis() / 1000) })
        if let missing = request.responses?.previousNotFound { throw refuse(missing) }
        var canonical: CanonicalRequest
        do {
            canonical = try Client.decode(client)
        } catch {
            throw refuse(error)
        }
        canonical.model = target.upstreamModel
        // After the request is known to translate: a 400 is never hidden by a credential failure.
        let credential = try await context.credential(for: target, recorder: recorder, exchange: &exchange)
        let upstreamRequest: UpstreamRequest
        do {
            upstreamRequest = try Provider.request(
                canonical,
                provider: target.provider,
                apiKey: credential.secret,
                timeouts: target.timeouts
            )
        } catch {
            throw refuse(error)
        }
        let response = try await context.send(upstreamRequest, recorder: recorder, exchange: &exchange)
        guard (200..<300).contains(response.status) else {
            let error = Provider.error(
                status: response.status, headers: response.headers,
                body: await context.errorBody(response, exchange: &exchange))
            throw context.refusal(
                label: "HTTP \(response.status) (\(AttemptContext.truncate(context.scrub(error.message))))",
                failureClass: context.failureClass(error, response: response, credential: credential, target: target),
                status: error.status,
                providerStatus: response.status,
                contentType: "application/json",
                body: Client.errorBody(error),
                recorder: recorder,
                exchange: &exchange
            )
        }
        context.answering(recorder, exchange: &exchange, answer: &answer)
        if summary.stream {
            let encoder = Client.streamEncoder(for: client)
            try await StreamRelay(context: context).relay(
                response,
                translator: CanonicalStreamTranslator<Provider.StreamDecoder, Client.StreamEncoder>(encoder: encoder),
                recorder: recorder,
                keeper: request.keeper,
                exchange: &exchange,
                answer: &answer,
                writer: writer
            )
            return
        }
        let body = try await context.collect(response, recorder: recorder, exchange: &exchange)
        let translated: CanonicalResponse
        do {
            translated = try Provider.response(body)
        } catch {
            throw .failed(
                recorder.record(status: response.status, error: "unreadable answer: \(error.message)"), .transient,
                timeout: false)
        }
        let encoded = Client.encode(translated, for: client)
        await context.deliver(
            encoded,
            status: 200,
            contentType: "application/json",
            usage: translated.usage,
            attempt: recorder.record(status: response.status, error: nil),
            keeper: request.keeper,
            exchange: &exchange,
            answer: &answer,
            writer: writer
        )
    }
}

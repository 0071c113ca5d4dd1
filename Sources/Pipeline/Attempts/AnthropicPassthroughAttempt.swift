import Dialects
import GatewayCore

/// An Anthropic-dialect request to an Anthropic target (or Claude on Vertex AI, where `model`
/// leaves the body for the URL and `anthropic_version` joins it): the client's body passes through with
/// only `model` rewritten, and the answer comes back byte for byte (a stream through
/// `AnthropicStreamRelay`, which only watches it). Errors are classified for failover as for a
/// translated target; a refusal is relayed in Anthropic's own shape, as the provider wrote it.
struct AnthropicPassthroughAttempt {
    let context: AttemptContext

    func run(
        _ target: RouteTarget,
        _ request: AttemptRequest,
        exchange: inout Exchange,
        answer: inout Answer,
        writer: some ResponseWriter
    ) async throws(AttemptFailure) {
        let summary = request.summary
        let recorder = AttemptRecorder(target: target)
        let credential = try await context.credential(for: target, recorder: recorder, exchange: &exchange)
        let upstreamRequest: UpstreamRequest
        do {
            upstreamRequest = try upstream(
                path: "messages", target: target, summary: summary, exchange: exchange, apiKey: credential.secret)
        } catch {
            throw .refused(
                ProviderRefusal(
                    status: error.status, contentType: "application/json", body: error.anthropicBody,
                    contextLength: false))
        }
        let vertex = target.provider.kind == .vertex
        let response = try await context.send(upstreamRequest, recorder: recorder, exchange: &exchange)
        guard (200..<300).contains(response.status) else {
            let body = await context.errorBody(response, exchange: &exchange)
            let error =
                vertex
                ? VertexAnthropicProviderCodec.error(status: response.status, body: body)
                : AnthropicProviderCodec.error(status: response.status, body: body)
            throw context.refusal(
                label: "HTTP \(response.status) (\(AttemptContext.truncate(context.scrub(error.message))))",
                failureClass: context.failureClass(error, response: response, credential: credential, target: target),
                status: response.status,
                contentType: "application/json",
                // The provider's own body when it is Anthropic's error shape (an edge proxy's
                // 413 may not be).
                body: Self.isAnthropicError(body) ? body : error.anthropicBody,
                recorder: recorder,
                exchange: &exchange
            )
        }
        context.answering(recorder, exchange: &exchange, answer: &answer)
        if summary.stream {
            try await StreamRelay(context: context).relay(
                response, translator: AnthropicStreamRelay(droppedEvents: vertex ? ["vertex_event"] : []),
                recorder: recorder, exchange: &exchange,
                answer: &answer, writer: writer)
            return
        }
        let body = try await context.collectJSON(response, recorder: recorder, exchange: &exchange)
        await context.deliver(
            body,
            status: response.status,
            contentType: response.header("content-type") ?? "application/json",
            usage: (try? AnthropicProviderCodec.response(body))?.usage,
            attempt: recorder.record(status: response.status, error: nil),
            exchange: &exchange,
            answer: &answer,
            writer: writer
        )
    }

    /// The upstream request for an Anthropic-dialect client's own body: the client's
    /// `anthropic-version` and `anthropic-beta` go along, the key is the gateway's. Claude on
    /// Vertex AI gets the body without `model` and with `anthropic_version`
    /// (`VertexAnthropicProviderCodec`).
    func upstream(path: String, target: RouteTarget, summary: RequestSummary, exchange: Exchange, apiKey: String?)
        throws(GatewayError) -> UpstreamRequest
    {
        if target.provider.kind == .vertex, path == "messages/count_tokens" {
            return try VertexAnthropicProviderCodec.countTokensRequest(
                body: RequestInspection.rewrite(
                    exchange.request.body, summary: summary,
                    upstreamModel: VertexEndpoint.claudeModelID(target.upstreamModel)),
                provider: target.provider, secret: apiKey, timeouts: target.timeouts,
                beta: exchange.request.header("anthropic-beta"))
        }
        if target.provider.kind == .vertex {
            return try VertexAnthropicProviderCodec.passthroughRequest(
                body: exchange.request.body, model: target.upstreamModel, provider: target.provider, secret: apiKey,
                stream: summary.stream, timeouts: target.timeouts, beta: exchange.request.header("anthropic-beta"))
        }
        var body = RequestInspection.rewrite(
            exchange.request.body, summary: summary, upstreamModel: target.upstreamModel)
        if target.provider.autoCacheControl && path == "messages" {
            body = AnthropicPromptCache.markingBreakpoints(body)
        }
        return AnthropicProviderCodec.passthroughRequest(
            path: path,
            body: body,
            provider: target.provider,
            apiKey: apiKey,
            stream: summary.stream && path == "messages",
            timeouts: target.timeouts,
            version: exchange.request.header("anthropic-version"),
            beta: exchange.request.header("anthropic-beta")
        )
    }

    static func isAnthropicError(_ body: [UInt8]) -> Bool {
        guard let scan = try? JSONScanner.scanObject(body), let type = scan.member("type"),
            let error = scan.member("error"), error.kind == .object
        else { return false }
        return JSONScanner.string(body, at: type.valueRange) == "error"
    }
}

import Dialects
import GatewayCore

extension RequestPipeline {
    /// An Anthropic-dialect request to an Anthropic target: the client's body passes through with
    /// only `model` rewritten, and the answer comes back byte for byte (a stream through
    /// `AnthropicStreamRelay`, which only watches it). Errors are classified for failover as for a
    /// translated target; a refusal is relayed in Anthropic's own shape, as the provider wrote it.
    func attemptAnthropicPassthrough(
        _ target: RouteTarget,
        summary: OpenAIRequestSummary,
        exchange: inout Exchange,
        writer: some ResponseWriter
    ) async throws(AttemptFailure) {
        let recorder = AttemptRecorder(target: target)
        let upstreamRequest = anthropicPassthroughRequest(
            path: "messages",
            body: OpenAIPassthrough.rewrite(
                exchange.request.body, summary: summary, upstreamModel: target.upstreamModel),
            target: target,
            stream: summary.stream,
            exchange: exchange
        )
        let response = try await send(upstreamRequest, recorder: recorder, exchange: &exchange)
        guard (200..<300).contains(response.status) else {
            let body = await errorBody(response, exchange: &exchange)
            let error = AnthropicProviderCodec.error(status: response.status, body: body)
            let refusal = ProviderRefusal(
                label: "HTTP \(response.status) (\(Self.truncate(scrub(error.message))))",
                failureClass: Self.classify(error, response: response),
                status: response.status,
                contentType: "application/json",
                // The provider's own body when it is Anthropic's error shape (an edge proxy's
                // 413 may not be).
                body: Self.isAnthropicError(body) ? body : error.anthropicBody
            )
            throw refused(refusal, recorder: recorder, exchange: &exchange)
        }
        answering(target, exchange: &exchange)
        if summary.stream {
            try await relayStream(
                response, translator: AnthropicStreamRelay(), exchange: &exchange, writer: writer
            ) { status, error in
                recorder.record(status: status, error: error)
            }
            return
        }
        let answer = try await collectJSON(response, recorder: recorder, exchange: &exchange)
        await deliver(
            answer,
            status: response.status,
            contentType: response.header("content-type") ?? "application/json",
            usage: (try? AnthropicProviderCodec.response(answer))?.usage,
            attempt: recorder.record(status: response.status, error: nil),
            exchange: &exchange,
            writer: writer
        )
    }

    /// The upstream request for an Anthropic-dialect client's own body: the client's
    /// `anthropic-version` and `anthropic-beta` go along, the key is the gateway's.
    func anthropicPassthroughRequest(
        path: String,
        body: [UInt8],
        target: RouteTarget,
        stream: Bool,
        exchange: Exchange
    ) -> UpstreamRequest {
        AnthropicProviderCodec.passthroughRequest(
            path: path,
            body: body,
            provider: target.provider,
            apiKey: keyring.key(for: target.provider.name),
            stream: stream,
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

    /// `POST /v1/messages/count_tokens`: asked of the model's first Anthropic target when it has
    /// one (Anthropic counts exactly, for free), else estimated (`TokenCountEstimate`). A target
    /// that fails or is rate-limited falls back to the estimate; its refusal of the request itself
    /// (a 4xx) is relayed. Not admitted or charged: counting costs nothing.
    func countTokens(_ exchange: inout Exchange, writer: some ResponseWriter) async throws(GatewayError) {
        let request = exchange.request
        let summary = try OpenAIPassthrough.inspect(request.body, endpoint: .countTokens)
        exchange.record.model = summary.model
        try authorize(model: summary.model, exchange: exchange)
        let route = try router.route(for: summary.model)
        // Admitted like any request (rate limits and budgets); nothing is paid for, so the
        // settlement (in `handleSimple`) gives the reservation back and counts no tokens.
        try await admit(&exchange, targets: route.candidates)
        if let target = route.candidates.first(where: { $0.provider.kind == .anthropic }),
            await countTokensUpstream(target, summary: summary, exchange: &exchange, writer: writer)
        {
            return
        }
        let canonical = try AnthropicMessagesRequestDecoder.decode(Self.withMaxTokens(request.body))
        var json = JSONWriter()
        json.object { $0.field("input_tokens", TokenCountEstimate.inputTokens(canonical)) }
        exchange.record.status = 200
        exchange.markFirstByte()
        let headers = exchange.responseHeaders(Self.jsonHeaders + [("x-llmgw-token-count", "estimate")])
        do {
            try await writer.writeComplete(status: 200, headers: headers, body: json.bytes)
        } catch {
            exchange.record.outcome = "client_closed"
        }
    }

    /// Relays the provider's count; false when the estimate should answer instead.
    private func countTokensUpstream(
        _ target: RouteTarget,
        summary: OpenAIRequestSummary,
        exchange: inout Exchange,
        writer: some ResponseWriter
    ) async -> Bool {
        let recorder = AttemptRecorder(target: target)
        let upstreamRequest = anthropicPassthroughRequest(
            path: "messages/count_tokens",
            body: OpenAIPassthrough.rewrite(
                exchange.request.body, summary: summary, upstreamModel: target.upstreamModel),
            target: target,
            stream: false,
            exchange: exchange
        )
        let body: [UInt8]
        let response: UpstreamResponse
        do {
            response = try await send(upstreamRequest, recorder: recorder, exchange: &exchange)
            body = try await collect(response, recorder: recorder, exchange: &exchange)
        } catch {
            if case .failed(let attempt, _, _) = error { exchange.record.attempts.append(attempt) }
            return false
        }
        let relay = (200..<300).contains(response.status) || [400, 404, 413].contains(response.status)
        let attempt = recorder.record(
            status: response.status, error: relay && response.status < 300 ? nil : "HTTP \(response.status)")
        guard relay else {
            exchange.record.attempts.append(attempt)
            return false
        }
        answering(target, exchange: &exchange)
        await deliver(
            scrubBody(body),
            status: response.status,
            contentType: response.header("content-type") ?? "application/json",
            usage: nil,
            estimateMissingUsage: false,
            attempt: attempt,
            exchange: &exchange,
            writer: writer
        )
        if response.status >= 300 { exchange.record.outcome = "bad_request" }
        return true
    }

    /// count_tokens bodies have no `max_tokens`; the Messages decoder requires one.
    private static func withMaxTokens(_ body: [UInt8]) -> [UInt8] {
        guard let scan = try? JSONScanner.scanObject(body), scan.member("max_tokens") == nil,
            let closing = body.lastIndex(of: UInt8(ascii: "}"))
        else { return body }
        var output = body
        let separator = scan.members.isEmpty ? "" : ","
        output.insert(contentsOf: Array((separator + #""max_tokens":1"#).utf8), at: closing)
        return output
    }
}

import Dialects
import GatewayCore

/// `POST /v1/messages/count_tokens`: asked of the model's first Anthropic target (or Claude on
/// Vertex AI, through `count-tokens:rawPredict`) when it has one
/// (Anthropic counts exactly, for free), else estimated (`TokenCountEstimate`). A target that fails
/// or is rate-limited falls back to the estimate; its refusal of the request itself (a 4xx) is
/// relayed. Admitted like any request (rate limits and budgets); nothing is paid for, so the
/// settlement gives the reservation back and counts no tokens.
struct CountTokensEndpoint {
    let identify: IdentifyStage
    let router: Router
    let admission: AdmissionStage
    let context: AttemptContext

    /// Answers the request; returns what admission charged, for settlement.
    func run(
        identity: Authenticator.Identity, exchange: inout Exchange, answer: inout Answer, writer: some ResponseWriter
    ) async throws(GatewayError) -> Admission {
        let request = exchange.request
        let summary = try RequestInspection.inspect(request.body, endpoint: .countTokens)
        exchange.record.model = summary.model
        try identify.authorize(model: summary.model, for: identity)
        let route = try router.route(for: summary.model)
        let admitted = try await admission.admit(identity, body: request.body, targets: route.candidates)
        exchange.extraHeaders += admitted.headers
        if let refusal = admitted.refusal { throw refusal }
        if let target = route.candidates.first(where: {
            $0.provider.kind == .anthropic || $0.provider.isVertexClaude(model: $0.upstreamModel)
        }),
            await countUpstream(target, summary: summary, exchange: &exchange, answer: &answer, writer: writer)
        {
            return admitted
        }
        let canonical = try AnthropicMessagesRequestDecoder.decode(Self.withMaxTokens(request.body))
        var json = JSONWriter()
        json.object { $0.field("input_tokens", TokenCountEstimate.inputTokens(canonical)) }
        await exchange.writeComplete(
            status: 200, headers: RequestPipeline.jsonHeaders + [("x-llmgw-token-count", "estimate")], body: json.bytes,
            to: writer)
        return admitted
    }

    /// Relays the provider's count; false when the estimate should answer instead.
    private func countUpstream(
        _ target: RouteTarget,
        summary: RequestSummary,
        exchange: inout Exchange,
        answer: inout Answer,
        writer: some ResponseWriter
    ) async -> Bool {
        let recorder = AttemptRecorder(target: target)
        let body: [UInt8]
        let response: UpstreamResponse
        do {
            let credential = try await context.credential(for: target, recorder: recorder, exchange: &exchange)
            let upstreamRequest = try AnthropicPassthroughAttempt(context: context).upstream(
                path: "messages/count_tokens", target: target, summary: summary, exchange: exchange,
                apiKey: credential.secret)
            response = try await context.send(upstreamRequest, recorder: recorder, exchange: &exchange)
            body = try await context.collect(response, recorder: recorder, exchange: &exchange)
        } catch {
            if case .failed(let attempt, _, _) = error as? AttemptFailure { exchange.record.attempts.append(attempt) }
            return false
        }
        let relay = (200..<300).contains(response.status) || [400, 404, 413].contains(response.status)
        let attempt = recorder.record(
            status: response.status, error: relay && response.status < 300 ? nil : "HTTP \(response.status)")
        guard relay else {
            exchange.record.attempts.append(attempt)
            return false
        }
        context.answering(recorder, exchange: &exchange, answer: &answer)
        await context.deliver(
            context.scrub(body),
            status: response.status,
            contentType: response.header("content-type") ?? "application/json",
            usage: nil,
            estimateMissingUsage: false,
            attempt: attempt,
            exchange: &exchange,
            answer: &answer,
            writer: writer
        )
        if response.status >= 300 { exchange.record.outcome = .badRequest }
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

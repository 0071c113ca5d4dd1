import Dialects
import GatewayCore
import Logging

/// Stages 6–7, attempt and relay: tries the candidates (the model's targets, then its fallbacks)
/// as the `FailoverStateMachine` directs — retrying a flaky target after a backoff or its
/// `retry-after`, moving on when a target is down, at its provider quota, unpriced for a budgeted
/// caller or behind an open circuit — until one answers. A failure before anything has reached the
/// client is invisible to it; once bytes have been sent, the answer is committed to that target
/// (`StreamCommitStateMachine`).
struct AttemptStage: Sendable {
    let context: AttemptContext
    let admission: AdmissionStage
    let policy: RetryPolicy
    let circuits: (any CircuitStore)?
    let circuitPolicy: CircuitPolicy
    /// In-flight counts and latencies for the balancing strategies.
    let stats: (any TargetStatsStore)?
    let clock: any WallClock
    let random: any RandomSource

    func run(
        _ route: Route,
        _ request: AttemptRequest,
        admission caller: Admission,
        exchange: inout Exchange,
        answer: inout Answer,
        writer: some ResponseWriter
    ) async throws(GatewayError) {
        let targets = route.candidates
        var machine = FailoverStateMachine(
            candidateCount: targets.count,
            contextFallbackStart: route.contextFallbackStart,
            policy: policy,
            now: exchange.request.receivedAt
        )
        var circuitRound = await CircuitRound(
            store: circuits, policy: circuitPolicy, clock: clock, candidates: targets,
            primaryCount: route.contextFallbackStart)
        var lastRefusal: ProviderRefusal?
        var action = machine.start()
        while case .attempt(let index, let delay) = action {
            if delay > .zero {
                do {
                    try await exchange.waiting { try await Task.sleep(for: delay) }
                } catch {
                    exchange.record.outcome = .clientClosed
                    return
                }
            }
            let target = targets[index]
            if let skip = await skip(
                target, index: index, caller: caller, circuitRound: &circuitRound, exchange: &exchange,
                answer: &answer)
            {
                action = machine.skipped(skip, now: .now, jitter: random.unit())
                continue
            }
            await trackInFlight(target, route, delta: 1)
            let failure: AttemptFailure?
            do {
                try await attemptOnce(target, request, exchange: &exchange, answer: &answer, writer: writer)
                failure = nil
            } catch {
                failure = error
            }
            await trackInFlight(target, route, delta: -1)
            switch failure {
            case nil:
                await recordLatency(target, route, micros: answer.served?.headMicros)
                await circuitRound.report(index, success: true)
                machine.attemptSucceeded()
                return
            case .failed(let attempt, let failureClass, let timeout):
                if failureClass == .transient || failureClass == .unavailable {
                    await circuitRound.report(index, success: false)
                }
                exchange.record.attempts.append(attempt)
                if Task.isCancelled || exchange.record.outcome == .clientClosed {
                    exchange.record.outcome = .clientClosed
                    return
                }
                action = machine.attemptFailed(failureClass, timedOut: timeout, now: .now, jitter: random.unit())
            case .refused(let refusal):
                lastRefusal = refusal
                action = machine.refused(contextLength: refusal.contextLength, now: .now, jitter: random.unit())
            }
        }
        switch machine.resolution {
        case .relayRefusal:
            if let refusal = lastRefusal {
                exchange.record.outcome = refusal.status == 404 ? .notFound : .badRequest
                await exchange.writeComplete(
                    status: refusal.status, headers: [("content-type", refusal.contentType)], body: refusal.body,
                    to: writer)
                return
            }
        case .quotaExhausted(let seconds):
            throw GatewayError(
                .rateLimited,
                "Every target of `\(request.summary.model)` is at its provider quota. Please try again in \(seconds)s.",
                retryAfterSeconds: seconds
            )
        case .allFailed, nil:
            break
        }
        let attempts = exchange.record.attempts
        let summaryText = attempts.map { "\($0.target): \($0.error ?? "failed")" }.joined(separator: "; ")
        let lead = attempts.count == 1 ? "The only attempt failed" : "All \(attempts.count) attempts failed"
        let timedOut = machine.resolution == .allFailed(timedOut: true)
        throw GatewayError(timedOut ? .timeout : .upstreamError, "\(lead): \(summaryText).")
    }

    /// Why `target` is passed over without a request, noted in the access record; nil to send.
    private func skip(
        _ target: RouteTarget,
        index: Int,
        caller: Admission,
        circuitRound: inout CircuitRound,
        exchange: inout Exchange,
        answer: inout Answer
    ) async -> FailoverStateMachine.Skip? {
        switch await admission.admit(target, body: exchange.request.body) {
        case .open:
            break
        case .admitted(let label, let ticket):
            answer.targetTickets.append((label, ticket))
        case .full(let seconds, let attempt):
            if let attempt { exchange.record.attempts.append(attempt) }
            return .quota(retryAfterSeconds: seconds)
        }
        if caller.requiresPrice && !context.prices.canPrice(target) {
            exchange.record.attempts.append(
                AttemptRecord(
                    target: target.label, status: nil, error: "no price: skipped for a budgeted key", milliseconds: 0,
                    skipped: true))
            return .noPrice
        }
        if let openUntil = await circuitRound.skip(index) {
            exchange.record.attempts.append(
                AttemptRecord(
                    target: target.label, status: nil, error: "circuit open (\(openUntil))", milliseconds: 0,
                    skipped: true))
            return .circuitOpen
        }
        return nil
    }

    /// One request to one target, by how the client's dialect meets the target's.
    private func attemptOnce(
        _ target: RouteTarget,
        _ request: AttemptRequest,
        exchange: inout Exchange,
        answer: inout Answer,
        writer: some ResponseWriter
    ) async throws(AttemptFailure) {
        let kind = target.provider.kind
        let codec = target.provider.codec(forModel: target.upstreamModel)
        switch exchange.client {
        case .openAI where kind == .openai || kind == .azure, .responses where kind == .openai || kind == .azure:
            try await OpenAIPassthroughAttempt(context: context).run(
                target, request, exchange: &exchange, answer: &answer, writer: writer)
        case .anthropic where kind == .anthropic || target.provider.isVertexClaude(model: target.upstreamModel):
            try await AnthropicPassthroughAttempt(context: context).run(
                target, request, exchange: &exchange, answer: &answer, writer: writer)
        case .openAI:
            try await TranslatedAttempt(context: context).run(
                codec, for: OpenAIChatClientCodec.self, target, request, exchange: &exchange, answer: &answer,
                writer: writer)
        case .anthropic:
            try await TranslatedAttempt(context: context).run(
                codec, for: AnthropicMessagesClientCodec.self, target, request, exchange: &exchange, answer: &answer,
                writer: writer)
        case .responses:
            try await TranslatedAttempt(context: context).run(
                codec, for: ResponsesClientCodec.self, target, request, exchange: &exchange, answer: &answer,
                writer: writer)
        }
    }

    /// Counts an attempt in flight to `target` for `least-busy` (across the host's sidecars).
    private func trackInFlight(_ target: RouteTarget, _ route: Route, delta: Int) async {
        guard route.strategy == .leastBusy, let stats else { return }
        try? await stats.adjustInFlight(target.label, by: delta)
    }

    /// Feeds a measured time to first byte into the target's average for `least-latency`.
    private func recordLatency(_ target: RouteTarget, _ route: Route, micros: Int64?) async {
        guard route.strategy == .leastLatency, let micros, let stats else { return }
        try? await stats.recordLatency(target.label, micros: micros)
    }
}

import Dialects
import GatewayCore

/// How one attempt ended when it did not produce the answer.
enum AttemptFailure: Error {
    /// Nothing reached the client; what to do next depends on the class.
    case failed(AttemptRecord, AttemptFailureClass, timeout: Bool)
    /// The provider refused the request itself (a 4xx that another try would not change): relay
    /// it, unless it is a context-length error and a larger-context fallback is configured.
    case final(status: Int, contentType: String, body: [UInt8], contextLength: Bool)
}

extension RequestPipeline {
    /// Stages 6–7: tries the candidates (the model's targets, then its fallbacks) as the
    /// `FailoverStateMachine` directs — retrying a flaky target after a backoff or its
    /// `retry-after`, moving on when a target is down — until one answers. A failure before
    /// anything has reached the client is invisible to it; once bytes have been sent, the answer
    /// is committed to that target.
    func attempt(
        _ route: Route,
        summary: OpenAIRequestSummary,
        endpoint: OpenAIPassthrough.Endpoint,
        exchange: inout Exchange,
        writer: some ResponseWriter
    ) async throws(GatewayError) {
        let targets = route.candidates
        var machine = FailoverStateMachine(
            candidateCount: targets.count,
            contextFallbackStart: route.contextFallbackStart,
            policy: retryPolicy,
            now: exchange.request.receivedAt
        )
        var everyFailureTimedOut = true
        var quotaRetryAfter: Int?
        var quotaOnly = true
        var lastRefusal: (status: Int, contentType: String, body: [UInt8])?
        var random = SystemRandomNumberGenerator()
        var breakers = await BreakerRound(pipeline: self, candidates: targets, primaryCount: route.contextFallbackStart)
        var action = machine.start()
        while case .attempt(let index, let delay) = action {
            if delay > .zero {
                do {
                    try await exchange.waiting { try await Task.sleep(for: delay) }
                } catch {
                    exchange.record.outcome = "client_closed"
                    return
                }
            }
            let target = targets[index]
            if let retryAfter = await admitTarget(target, exchange: &exchange) {
                quotaRetryAfter = min(quotaRetryAfter ?? retryAfter, retryAfter)
                action = machine.attemptFailed(
                    .unavailable, now: .now, jitter: Double.random(in: 0...1, using: &random))
                continue
            }
            quotaOnly = false
            if exchange.requiresPrice && !isPriced(target) {
                exchange.record.attempts.append(
                    AttemptRecord(
                        target: target.label, status: nil, error: "no price: skipped for a budgeted key",
                        milliseconds: 0))
                action = machine.attemptFailed(
                    .unavailable, now: .now, jitter: Double.random(in: 0...1, using: &random))
                continue
            }
            if let openUntil = await breakers.skip(index) {
                exchange.record.attempts.append(
                    AttemptRecord(
                        target: target.label, status: nil, error: "circuit open (\(openUntil))", milliseconds: 0)
                )
                action = machine.attemptFailed(
                    .unavailable, now: .now, jitter: Double.random(in: 0...1, using: &random))
                continue
            }
            await trackInFlight(target, route, delta: 1)
            let failure: AttemptFailure?
            do {
                try await attemptOnce(target, summary: summary, endpoint: endpoint, exchange: &exchange, writer: writer)
                failure = nil
            } catch {
                failure = error
            }
            await trackInFlight(target, route, delta: -1)
            guard let failure else {
                await recordLatency(target, route, micros: exchange.lastHeadMicros)
                await breakers.report(index, success: true)
                machine.attemptSucceeded()
                return
            }
            switch failure {
            case .failed(let attempt, let failureClass, let timeout):
                if failureClass == .transient || failureClass == .unavailable {
                    await breakers.report(index, success: false)
                }
                exchange.record.attempts.append(attempt)
                everyFailureTimedOut = everyFailureTimedOut && timeout
                if Task.isCancelled || exchange.record.outcome == "client_closed" {
                    exchange.record.outcome = "client_closed"
                    return
                }
                action = machine.attemptFailed(
                    failureClass, now: .now, jitter: Double.random(in: 0...1, using: &random))
            case .final(let status, let contentType, let body, let contextLength):
                lastRefusal = (status, contentType, body)
                everyFailureTimedOut = false
                action = machine.attemptFailed(
                    contextLength ? .contextLength : .fatal,
                    now: .now,
                    jitter: Double.random(in: 0...1, using: &random)
                )
            }
        }
        if let refusal = lastRefusal, case .giveUp(let last) = action, last == .fatal || last == .contextLength {
            await relayRefusal(refusal, exchange: &exchange, writer: writer)
            return
        }
        if quotaOnly, let quotaRetryAfter {
            throw GatewayError(
                .rateLimited,
                "Every target of `\(summary.model)` is at its provider quota. Please try again in \(quotaRetryAfter)s.",
                retryAfterSeconds: quotaRetryAfter
            )
        }
        let summaryText = exchange.record.attempts.map { "\($0.target): \($0.error ?? "failed")" }
            .joined(separator: "; ")
        let count = exchange.record.attempts.count
        let lead = count == 1 ? "The only attempt failed" : "All \(count) attempts failed"
        throw GatewayError(everyFailureTimedOut ? .timeout : .upstreamError, "\(lead): \(summaryText).")
    }

    /// Relays a provider's own refusal (a client error) with its status and body.
    private func relayRefusal(
        _ refusal: (status: Int, contentType: String, body: [UInt8]),
        exchange: inout Exchange,
        writer: some ResponseWriter
    ) async {
        exchange.record.status = refusal.status
        exchange.record.outcome = refusal.status == 404 ? "not_found" : "bad_request"
        exchange.markFirstByte()
        do {
            try await writer.writeComplete(
                status: refusal.status,
                headers: exchange.responseHeaders([("content-type", refusal.contentType)]),
                body: refusal.body
            )
        } catch {
            exchange.record.outcome = "client_closed"
        }
    }

    func attemptOnce(
        _ target: RouteTarget,
        summary: OpenAIRequestSummary,
        endpoint: OpenAIPassthrough.Endpoint,
        exchange: inout Exchange,
        writer: some ResponseWriter
    ) async throws(AttemptFailure) {
        let kind = target.provider.kind
        switch exchange.client {
        case .openAI where kind == .openai || kind == .azure:
            try await attemptOpenAIPassthrough(
                target, summary: summary, endpoint: endpoint, exchange: &exchange, writer: writer)
        case .anthropic where kind == .anthropic:
            try await attemptAnthropicPassthrough(target, summary: summary, exchange: &exchange, writer: writer)
        case .openAI:
            try await attemptTranslated(
                Self.translatingDialect(kind), for: OpenAIClient.self, target, summary: summary, endpoint: endpoint,
                exchange: &exchange, writer: writer)
        case .anthropic:
            try await attemptTranslated(
                Self.translatingDialect(kind), for: AnthropicClient.self, target, summary: summary,
                endpoint: endpoint, exchange: &exchange, writer: writer)
        }
    }

    /// An OpenAI-dialect request to an OpenAI-compatible target: the body passes through with only
    /// the model rewritten, the answer comes back byte for byte.
    private func attemptOpenAIPassthrough(
        _ target: RouteTarget,
        summary: OpenAIRequestSummary,
        endpoint: OpenAIPassthrough.Endpoint,
        exchange: inout Exchange,
        writer: some ResponseWriter
    ) async throws(AttemptFailure) {
        let recorder = AttemptRecorder(target: target)
        let body = OpenAIPassthrough.rewrite(
            exchange.request.body, summary: summary, upstreamModel: target.upstreamModel)
        let path = endpoint == .chatCompletions ? "/chat/completions" : "/embeddings"
        let apiKey = keyring.key(for: target.provider.name)
        let upstreamRequest =
            target.provider.kind == .azure
            ? AzureProviderCodec.request(
                path: path,
                body: body,
                deployment: target.upstreamModel,
                provider: target.provider,
                apiKey: apiKey,
                stream: summary.stream,
                timeouts: target.timeouts
            )
            : OpenAIProviderCodec.request(
                path: path,
                body: body,
                provider: target.provider,
                apiKey: apiKey,
                stream: summary.stream,
                timeouts: target.timeouts
            )
        let response = try await send(upstreamRequest, recorder: recorder, exchange: &exchange)
        guard (200..<300).contains(response.status) else {
            let errorBody = await errorBody(response, exchange: &exchange)
            let message = OpenAIProviderCodec.errorMessage(inBody: errorBody).map { scrub($0) }
            var label = "HTTP \(response.status)" + (message.map { " (\(Self.truncate($0)))" } ?? "")
            if response.status == 401 || response.status == 403 {
                label = "HTTP \(response.status) (the provider rejected the gateway's key for \(target.provider.name))"
            }
            let refusal = ProviderRefusal(
                label: label,
                failureClass: Self.classify(status: response.status, response: response, errorBody: errorBody),
                status: response.status,
                contentType: response.header("content-type") ?? "application/json",
                body: errorBody
            )
            throw refused(refusal, recorder: recorder, exchange: &exchange)
        }
        answering(target, exchange: &exchange)
        if summary.stream {
            try await relayStream(
                response,
                translator: OpenAIStreamRelay(forwardUsageChunk: summary.clientWantsStreamUsage),
                exchange: &exchange,
                writer: writer
            ) { status, error in
                recorder.record(status: status, error: error)
            }
        } else {
            let answer = try await collectJSON(response, recorder: recorder, exchange: &exchange)
            await deliver(
                answer,
                status: response.status,
                contentType: response.header("content-type") ?? "application/json",
                usage: OpenAIPassthrough.usage(inResponse: answer),
                attempt: recorder.record(status: response.status, error: nil),
                exchange: &exchange,
                writer: writer
            )
        }
    }

    /// The class of a transport failure (DESIGN.md §4): a reset may heal on a retry; connect,
    /// DNS, TLS failures and timeouts move on to the next target; the client going away stops.
    static func classify(_ failure: UpstreamFailure) -> AttemptFailureClass {
        switch failure.kind {
        case .reset: .transient
        case .cancelled: .fatal
        default: .unavailable
        }
    }

    /// The class of a provider's error status. A provider's 401/403 is about the gateway's key,
    /// never relayed as the caller's own; `insufficient_quota` and "request too large" 429s never
    /// heal by waiting; a context-length 400 may go to a larger-context fallback.
    static func classify(status: Int, response: UpstreamResponse, errorBody: [UInt8]) -> AttemptFailureClass {
        let code = OpenAIProviderCodec.errorCode(inBody: errorBody)
        let message = OpenAIProviderCodec.errorMessage(inBody: errorBody)?.lowercased() ?? ""
        switch status {
        case 401, 403: return .unavailable
        case 408, 409, 500, 502, 503, 504, 529: return .transient
        case 429:
            if code == "insufficient_quota" || message.contains("request too large") { return .unavailable }
            return .rateLimited(retryAfter: retryAfter(response))
        case 400, 413, 422:
            let contextLength =
                code == "context_length_exceeded" || message.contains("maximum context length")
                || message.contains("prompt is too long") || message.contains("context window")
            return contextLength ? .contextLength : .fatal
        default:
            return status >= 500 ? .transient : .fatal
        }
    }

    /// `retry-after-ms`, then `retry-after` in seconds; absurd values (`1e20`, `inf`) are capped
    /// and negative ones ignored (`RetryPolicy.providerDelay`).
    static func retryAfter(_ response: UpstreamResponse) -> Duration? {
        if let text = response.header("retry-after-ms"), let delay = RetryPolicy.providerDelay(headerMilliseconds: text)
        {
            return delay
        }
        return response.header("retry-after").flatMap(RetryPolicy.providerDelay(headerSeconds:))
    }

    static func truncate(_ text: String, to limit: Int = 200) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }

    /// Removes any provider key from text that came from a provider.
    func scrub(_ text: String) -> String {
        var result = text
        for key in keyring.allKeys() where key.count >= 8 && result.contains(key) {
            result = result.replacing(key, with: "***")
        }
        return result
    }

    func scrubBody(_ body: [UInt8]) -> [UInt8] {
        let text = String(decoding: body, as: UTF8.self)
        let scrubbed = scrub(text)
        return scrubbed == text ? body : Array(scrubbed.utf8)
    }
}

import Dialects
import GatewayCore

/// How one attempt ended when it did not produce the answer.
enum AttemptFailure: Error {
    /// Nothing reached the client; the next target may be tried.
    case retryable(AttemptRecord, timeout: Bool)
    /// The provider refused the request itself (a 4xx that another try would not change): relay it.
    case final(status: Int, contentType: String, body: [UInt8])
}

extension RequestPipeline {
    /// Stages 6–7: tries the targets in order until one answers. A failure before anything has
    /// reached the client moves on to the next target; once bytes have been sent, the answer is
    /// committed to that target.
    func attempt(
        _ targets: [RouteTarget],
        summary: OpenAIRequestSummary,
        endpoint: OpenAIPassthrough.Endpoint,
        exchange: inout Exchange,
        writer: some ResponseWriter
    ) async throws(GatewayError) {
        var everyFailureTimedOut = true
        var quotaRetryAfter: Int?
        var quotaRefusals = 0
        for target in targets {
            if let retryAfter = admitTarget(target, exchange: &exchange) {
                quotaRefusals += 1
                quotaRetryAfter = min(quotaRetryAfter ?? retryAfter, retryAfter)
                continue
            }
            do {
                try await attemptOnce(target, summary: summary, endpoint: endpoint, exchange: &exchange, writer: writer)
                return
            } catch {
                switch error {
                case .retryable(let attempt, let timeout):
                    exchange.record.attempts.append(attempt)
                    everyFailureTimedOut = everyFailureTimedOut && timeout
                case .final(let status, let contentType, let body):
                    exchange.record.status = status
                    exchange.record.outcome = status == 404 ? "not_found" : "bad_request"
                    exchange.markFirstByte()
                    do {
                        try await writer.writeComplete(
                            status: status,
                            headers: exchange.responseHeaders([("content-type", contentType)]),
                            body: body
                        )
                    } catch {
                        exchange.record.outcome = "client_closed"
                    }
                    return
                }
            }
        }
        if quotaRefusals == targets.count, let quotaRetryAfter {
            throw GatewayError(
                .rateLimited,
                "Every target of `\(summary.model)` is at its provider quota. Please try again in \(quotaRetryAfter)s.",
                retryAfterSeconds: quotaRetryAfter
            )
        }
        let summaryText = exchange.record.attempts.map { "\($0.target): \($0.error ?? "failed")" }.joined(
            separator: "; ")
        let count = exchange.record.attempts.count
        let lead = count == 1 ? "The only target failed" : "All \(count) targets failed"
        throw GatewayError(everyFailureTimedOut ? .timeout : .upstreamError, "\(lead): \(summaryText).")
    }

    private func attemptOnce(
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
        let body = OpenAIPassthrough.rewrite(
            exchange.request.body, summary: summary, upstreamModel: target.upstreamModel)
        let upstreamRequest = OpenAIProviderCodec.request(
            path: endpoint == .chatCompletions ? "/chat/completions" : "/embeddings",
            body: body,
            provider: target.provider,
            apiKey: keyring.key(for: target.provider.name),
            stream: summary.stream,
            timeouts: target.timeouts
        )
        let response: UpstreamResponse
        do {
            response = try await exchange.waiting { () async throws(UpstreamFailure) in
                try await transport.send(upstreamRequest)
            }
        } catch {
            throw .retryable(record(status: nil, error: error.description), timeout: error.isTimeout)
        }

        guard (200..<300).contains(response.status) else {
            let errorBody =
                (try? await exchange.waiting { () async throws(UpstreamFailure) in
                    try await response.body.collect(upTo: 1024 * 1024)
                }) ?? []
            let message = OpenAIProviderCodec.errorMessage(inBody: errorBody).map { scrub($0) }
            var label = "HTTP \(response.status)" + (message.map { " (\(Self.truncate($0)))" } ?? "")
            if response.status == 401 || response.status == 403 {
                label = "HTTP \(response.status) (the provider rejected the gateway's key for \(target.provider.name))"
            }
            if Self.isRetryable(status: response.status) {
                throw .retryable(record(status: response.status, error: label), timeout: false)
            }
            exchange.record.attempts.append(record(status: response.status, error: label))
            exchange.record.provider = target.provider.name
            exchange.record.upstreamModel = target.upstreamModel
            exchange.record.errorMessage = label
            throw .final(
                status: response.status,
                contentType: response.header("content-type") ?? "application/json",
                body: scrubBody(errorBody)
            )
        }

        exchange.record.provider = target.provider.name
        exchange.record.upstreamModel = target.upstreamModel
        if summary.stream {
            try await relayStream(response, summary: summary, exchange: &exchange, writer: writer) { status, error in
                record(status: status, error: error)
            }
        } else {
            let answer: [UInt8]
            do {
                answer = try await exchange.waiting { () async throws(UpstreamFailure) in
                    try await response.body.collect(upTo: Self.maximumUpstreamBodyBytes)
                }
            } catch {
                throw .retryable(record(status: response.status, error: error.description), timeout: error.isTimeout)
            }
            exchange.record.attempts.append(record(status: response.status, error: nil))
            exchange.record.usage = OpenAIPassthrough.usage(inResponse: answer)
            exchange.capturedContentType = response.header("content-type") ?? "application/json"
            exchange.capture(answer)
            exchange.record.status = response.status
            exchange.markFirstByte()
            let headers = exchange.responseHeaders([
                ("content-type", response.header("content-type") ?? "application/json")
            ])
            do {
                try await exchange.waiting {
                    try await writer.writeComplete(status: response.status, headers: headers, body: answer)
                }
            } catch {
                exchange.record.outcome = "client_closed"
            }
        }
    }

    /// Statuses after which another target may succeed (DESIGN.md §4). A provider's 401/403 is
    /// about the gateway's configured key, not the caller: it is a failed attempt too, never
    /// relayed (the caller would think its own credentials were wrong).
    static func isRetryable(status: Int) -> Bool {
        [401, 403, 408, 409, 429, 500, 502, 503, 504, 529].contains(status)
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

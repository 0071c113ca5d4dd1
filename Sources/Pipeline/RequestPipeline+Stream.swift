import Dialects
import GatewayCore

extension RequestPipeline {
    /// Stage 7 for `stream: true`: relays SSE events as they arrive. Until the first event has been
    /// sent, a failure is an ordinary failed attempt (the next target is tried). After it, the
    /// answer belongs to this target: a failure ends the stream with an in-band error event and no
    /// `[DONE]`, so the client can tell the answer was cut.
    func relayStream<Translator: StreamTranslator>(
        _ response: UpstreamResponse,
        translator: Translator,
        exchange: inout Exchange,
        writer: some ResponseWriter,
        attemptRecord: (Int?, String?) -> AttemptRecord
    ) async throws(AttemptFailure) {
        var relay = translator
        var committed = false
        /// SSE events relayed to the client, for a usage estimate when the provider reports none.
        var relayedEvents = 0
        /// Every exit copies the usage: the provider's when it reported it, else an estimate once
        /// output reached the client (a client that hangs up at `finish_reason`, a cut stream, a
        /// server that ignores `include_usage` is charged what it was sent, never nothing).
        func settleUsage(_ exchange: inout Exchange) {
            exchange.record.usage =
                relay.usage ?? (committed ? estimatedUsage(exchange, outputTokens: relayedEvents) : nil)
        }
        let status = response.status
        let contentType = "text/event-stream"
        let registration = streams.register(response.body)
        defer { streams.unregister(registration) }

        func commit(_ exchange: inout Exchange) async throws {
            committed = true
            exchange.capturedContentType = contentType
            exchange.record.attempts.append(attemptRecord(status, nil))
            exchange.record.status = status
            exchange.markFirstByte()
            let headers = exchange.responseHeaders([("content-type", contentType), ("cache-control", "no-cache")])
            try await exchange.waiting { try await writer.writeHead(status: status, headers: headers) }
        }

        while true {
            let chunk: [UInt8]?
            do {
                chunk = try await exchange.waiting { () async throws(UpstreamFailure) in try await response.body.next()
                }
            } catch {
                response.body.cancel()
                settleUsage(&exchange)
                if committed && streams.isCutting {
                    await cutStream(Self.shutdownCut, exchange: &exchange, writer: writer)
                    return
                }
                if error.kind == .cancelled {
                    exchange.record.outcome = "client_closed"
                    exchange.record.status = committed ? status : 499
                    if !committed { exchange.record.attempts.append(attemptRecord(status, error.description)) }
                    return
                }
                guard committed else {
                    throw .failed(
                        attemptRecord(status, error.description), Self.classify(error), timeout: error.isTimeout)
                }
                await cutStream(reason: error.description, exchange: &exchange, writer: writer)
                return
            }
            guard let chunk else {
                if committed && streams.isCutting && !relay.sawDone {
                    await cutStream(Self.shutdownCut, exchange: &exchange, writer: writer)
                    return
                }
                break
            }
            let rawOutput = relay.push(chunk)
            if relay.oversizedEvent {
                // An upstream that never ends its event (no newline): stop reading, whatever it costs.
                response.body.cancel()
                let reason = "stream event over \(SSEFramer.defaultMaximumEventBytes) bytes"
                guard committed else { throw .failed(attemptRecord(status, reason), .unavailable, timeout: false) }
                await cutStream(reason: reason, exchange: &exchange, writer: writer)
                return
            }
            if !committed && relay.sawError {
                // The provider reported an error before any real output: fail over invisibly.
                response.body.cancel()
                throw .failed(attemptRecord(status, "in-band error before any output"), .transient, timeout: false)
            }
            guard !rawOutput.isEmpty else { continue }
            // An in-band error event may echo what the provider received, the key included.
            let output = relay.sawError ? scrubBody(rawOutput) : rawOutput
            relayedEvents = relayedEvents.addingSaturating(Self.eventCount(output))
            if exchange.pricesByRespondingModel && exchange.respondingModel == nil {
                exchange.respondingModel = Self.modelNamed(in: output)
            }
            exchange.capture(output)
            do {
                if !committed { try await commit(&exchange) }
                try await exchange.waiting { try await writer.writeBodyPart(output) }
            } catch {
                // The client went away: stop paying for tokens nobody will read.
                response.body.cancel()
                exchange.record.outcome = "client_closed"
                settleUsage(&exchange)
                return
            }
        }

        let tail = relay.finish()
        settleUsage(&exchange)
        if !committed && !relay.sawDone {
            // Only a preamble arrived before the provider closed the stream: nothing reached the client.
            throw .failed(attemptRecord(status, "stream ended before any output"), .transient, timeout: false)
        }
        // A complete answer: release a preamble still held (an empty completion), then the
        // translator's closing chunks.
        let unscrubbed = (relay.committed ? [] : relay.releasePreamble()) + tail
        let closing = relay.sawError ? scrubBody(unscrubbed) : unscrubbed
        if !closing.isEmpty {
            exchange.capture(closing)
            do {
                if !committed { try await commit(&exchange) }
                try await exchange.waiting { try await writer.writeBodyPart(closing) }
            } catch {
                response.body.cancel()
                exchange.record.outcome = "client_closed"
                return
            }
        }
        if !relay.sawDone && !relay.sawError {
            // The provider closed the stream without its terminator: the answer is incomplete.
            guard committed else {
                throw .failed(attemptRecord(status, "stream ended before any event"), .transient, timeout: false)
            }
            await cutStream(
                reason: "provider closed the stream early", exchange: &exchange, writer: writer)
            return
        }
        if relay.sawError { exchange.record.outcome = "stream_cut" }
        if !committed {
            do { try await commit(&exchange) } catch {
                exchange.record.outcome = "client_closed"
                return
            }
        }
        do {
            try await exchange.waiting { try await writer.end() }
        } catch {
            exchange.record.outcome = "client_closed"
        }
    }

    /// Usage when the provider reported none: the prompt as admission estimated it, and
    /// `outputTokens` (about one token per relayed event for OpenAI and Anthropic streams).
    func estimatedUsage(_ exchange: Exchange, outputTokens: Int) -> TokenUsage {
        let estimate = AdmissionEstimate.tokens(body: exchange.request.body)
        return TokenUsage(promptTokens: estimate.prompt, completionTokens: min(max(1, outputTokens), estimate.output))
    }

    /// SSE events in `bytes` (each ends with a blank line).
    static func eventCount(_ bytes: [UInt8]) -> Int {
        var count = 0
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == 0x0A && previous == 0x0A { count += 1 }
            if byte != 0x0D { previous = byte }
        }
        return count
    }

    /// Ends a committed stream with an in-band error event in the client's dialect and no
    /// terminator (`[DONE]`, `message_stop`).
    private func cutStream(
        reason: String,
        exchange: inout Exchange,
        writer: some ResponseWriter
    ) async {
        await cutStream(
            GatewayError(.upstreamError, "The provider's stream failed midway: \(reason)."),
            reason: reason, exchange: &exchange, writer: writer)
    }

    /// What a stream still running when the drain timeout ends is cut with.
    static let shutdownCut = GatewayError(
        .unavailable, "The gateway is shutting down; the stream was cut before its end.", retryAfterSeconds: 1)

    private func cutStream(
        _ error: GatewayError,
        reason: String = "gateway shutting down",
        exchange: inout Exchange,
        writer: some ResponseWriter
    ) async {
        exchange.record.outcome = "stream_cut"
        exchange.record.errorMessage = reason
        let event = exchange.client.streamErrorEvent(error)
        do {
            try await exchange.waiting {
                try await writer.writeBodyPart(event)
                try await writer.end()
            }
        } catch {
            exchange.record.outcome = "client_closed"
        }
    }

    /// Answers with `error` in the client's shape (if nothing was sent yet) and notes it for the log.
    func respond(with error: GatewayError, exchange: inout Exchange, writer: some ResponseWriter) async {
        exchange.record.status = error.status
        exchange.record.outcome = error.outcome
        exchange.record.errorMessage = error.message
        exchange.markFirstByte()
        var headers = exchange.responseHeaders(Self.jsonHeaders)
        if let retryAfter = error.retryAfterSeconds { headers.append(("retry-after", String(retryAfter))) }
        do {
            try await writer.writeComplete(
                status: error.status, headers: headers, body: exchange.client.errorBody(error))
        } catch {
            exchange.record.outcome = "client_closed"
        }
    }

    /// Stage 9: the access-log line.
    func finish(_ exchange: inout Exchange) {
        let now = ContinuousClock.now
        exchange.record.latencyMilliseconds = (now - exchange.request.receivedAt) / .milliseconds(1)
        exchange.record.ttfbMilliseconds = exchange.firstByteAt.map {
            ($0 - exchange.request.receivedAt) / .milliseconds(1)
        }
        exchange.record.overheadMicroseconds = exchange.overheadMicroseconds
        if exchange.record.outcome == "client_closed" && exchange.record.status == 0 { exchange.record.status = 499 }
        accessLog.record(exchange.record)
    }
}

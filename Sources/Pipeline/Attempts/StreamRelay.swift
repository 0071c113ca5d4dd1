import Dialects
import GatewayCore

/// Stage 7 for `stream: true`: relays SSE events as they arrive, through a translator (the
/// passthrough relays only watch; a translated stream is re-encoded), with the commit point of
/// `StreamCommitStateMachine`. Usage is copied on every exit: the provider's when it reported it,
/// else an estimate once output reached the client (a client that hangs up at `finish_reason`, a
/// cut stream, a server that ignores `include_usage` is charged what it was sent, never nothing).
struct StreamRelay {
    let context: AttemptContext

    /// What a stream still running when the drain timeout ends is cut with.
    static let shutdownCut = GatewayError(
        .unavailable, "The gateway is shutting down; the stream was cut before its end.", retryAfterSeconds: 1)

    func relay<Translator: StreamTranslator>(
        _ response: UpstreamResponse,
        translator: Translator,
        recorder: AttemptRecorder,
        keeper: ResponseKeeper? = nil,
        exchange: inout Exchange,
        answer: inout Answer,
        writer: some ResponseWriter
    ) async throws(AttemptFailure) {
        var stream = Pump(translator: translator, response: response, recorder: recorder, keeper: keeper)
        // An attempt that fails over leaves the answer guard as it found it (nothing was sent).
        let guardAtStart = exchange.answerGuard
        answer.capture?.contentType = Pump<Translator>.contentType
        let registration = context.streams.register(response.body)
        defer { context.streams.unregister(registration) }
        let ending = await stream.run(context: context, exchange: &exchange, answer: &answer, writer: writer)
        exchange.record.usage =
            stream.translator.usage
            ?? (stream.machine.isCommitted
                ? AdmissionEstimate.tokens(body: exchange.request.body).usage(outputTokens: stream.relayedEvents) : nil)
        switch ending {
        case .failOver(let reason, let failureClass, let timeout):
            response.body.cancel()
            exchange.answerGuard = guardAtStart
            throw .failed(recorder.record(status: response.status, error: reason), failureClass, timeout: timeout)
        case .cut(let reason):
            response.body.cancel()
            let error = GatewayError(.upstreamError, "The provider's stream failed midway: \(reason).")
            await cut(
                stream.translator.cutEvent(error, dialect: exchange.client), reason: reason, exchange: &exchange,
                writer: writer)
        case .shutdownCut:
            response.body.cancel()
            await cut(
                stream.translator.cutEvent(Self.shutdownCut, dialect: exchange.client),
                reason: "gateway shutting down", exchange: &exchange, writer: writer)
        case .clientClosed(let reason):
            // Stop paying for tokens nobody will read.
            response.body.cancel()
            exchange.record.outcome = .clientClosed
            if let reason {
                exchange.record.attempts.append(recorder.record(status: response.status, error: reason))
                exchange.record.status = 499
            }
        case .refused(let refusal):
            response.body.cancel()
            answer.capture = nil
            let error = refusal.error
            guard stream.machine.isCommitted else {
                exchange.record.attempts.append(recorder.record(status: response.status, error: nil))
                exchange.record.errorMessage = error.message
                throw .refused(
                    ProviderRefusal(
                        status: error.status, contentType: "application/json", body: exchange.client.errorBody(error),
                        contextLength: false))
            }
            await cut(
                stream.translator.cutEvent(error, dialect: exchange.client), reason: error.message, exchange: &exchange,
                writer: writer)
        case .complete(let providerError):
            if providerError { exchange.record.outcome = .streamCut }
            do {
                if stream.machine.willSend() { try await stream.commit(exchange: &exchange, writer: writer) }
                try await exchange.waiting { try await writer.end() }
            } catch {
                exchange.record.outcome = .clientClosed
            }
        }
    }

    /// Ends a committed stream with `event`, the in-band error event in the client's dialect, and
    /// no terminator.
    private func cut(_ event: [UInt8], reason: String, exchange: inout Exchange, writer: some ResponseWriter)
        async
    {
        exchange.record.outcome = .streamCut
        exchange.record.errorMessage = reason
        do {
            try await exchange.waiting {
                try await writer.writeBodyPart(event)
                try await writer.end()
            }
        } catch {
            exchange.record.outcome = .clientClosed
        }
    }

    /// The read-translate-send loop of one stream.
    private struct Pump<Translator: StreamTranslator> {
        var translator: Translator
        let response: UpstreamResponse
        let recorder: AttemptRecorder
        var machine = StreamCommitStateMachine()
        /// SSE events relayed to the client, for a usage estimate when the provider reports none.
        var relayedEvents = 0
        /// Stores a Responses answer once its final object is known, before it is sent.
        var keeper: ResponseKeeper?

        init(translator: Translator, response: UpstreamResponse, recorder: AttemptRecorder, keeper: ResponseKeeper?) {
            self.translator = translator
            self.response = response
            self.recorder = recorder
            self.keeper = keeper
        }

        /// A Responses answer is stored before its terminal event leaves, so that a follow-up sent
        /// the moment the client has it finds its chain (on any sidecar).
        private mutating func keepFinalResponse(_ exchange: inout Exchange) async {
            guard let keeper, var final = translator.finalResponse else { return }
            self.keeper = nil
            if var guarding = exchange.answerGuard {
                final = guarding.stored(final)
                exchange.answerGuard = guarding
                // A refused answer is not kept.
                guard guarding.refusal == nil else { return }
            }
            await keeper.keep(final, provider: recorder.target.provider.name)
        }

        mutating func run(
            context: AttemptContext, exchange: inout Exchange, answer: inout Answer, writer: some ResponseWriter
        ) async -> StreamCommitStateMachine.Ending {
            while true {
                let chunk: [UInt8]?
                do {
                    chunk = try await exchange.waiting { () async throws(UpstreamFailure) in
                        try await response.body.next()
                    }
                } catch {
                    return machine.readFailed(error, cutting: context.streams.isCutting)
                }
                guard let chunk else { break }
                let output = translator.push(chunk)
                await keepFinalResponse(&exchange)
                if translator.oversizedEvent {
                    return machine.oversizedEvent(limit: SSEFramer.defaultMaximumEventBytes)
                }
                if translator.sawError, let ending = machine.inBandError() { return ending }
                guard !output.isEmpty else { continue }
                // An in-band error event may echo what the provider received, the key included.
                let scrubbed = translator.sawError ? context.scrub(output) : output
                relayedEvents = relayedEvents.addingSaturating(Self.eventCount(scrubbed))
                if answer.served?.pricesByRespondingModel == true && answer.served?.respondingModel == nil {
                    answer.served?.respondingModel = AttemptContext.modelNamed(in: scrubbed)
                }
                guard await send(scrubbed, exchange: &exchange, answer: &answer, writer: writer) else {
                    return .clientClosed(reason: nil)
                }
                if let refusal = exchange.answerGuard?.refusal { return .refused(refusal) }
            }
            if let ending = machine.upstreamClosed(sawDone: translator.sawDone, cutting: context.streams.isCutting) {
                return ending
            }
            let tail = translator.finish()
            await keepFinalResponse(&exchange)
            if let ending = machine.drained(sawDone: translator.sawDone) { return ending }
            // A complete answer: release a preamble still held (an empty completion), then the
            // translator's closing chunks.
            let closing = (translator.committed ? [] : translator.releasePreamble()) + tail
            if !closing.isEmpty {
                let scrubbed = translator.sawError ? context.scrub(closing) : closing
                guard await send(scrubbed, exchange: &exchange, answer: &answer, writer: writer) else {
                    return .clientClosed(reason: nil)
                }
            }
            // Text the answer guard still holds (a stream that ended without closing its texts).
            if var guarding = exchange.answerGuard {
                let rest = guarding.finishStream()
                exchange.answerGuard = guarding
                if !rest.client.isEmpty {
                    answer.capture?.append(rest.stored)
                    guard await write(rest.client, exchange: &exchange, writer: writer) else {
                        return .clientClosed(reason: nil)
                    }
                }
            }
            if let refusal = exchange.answerGuard?.refusal { return .refused(refusal) }
            return machine.closed(sawDone: translator.sawDone, sawError: translator.sawError)
        }

        /// Sends output to the client, committing the answer first when it is the first.
        private mutating func send(
            _ bytes: [UInt8], exchange: inout Exchange, answer: inout Answer, writer: some ResponseWriter
        ) async -> Bool {
            guard var guarding = exchange.answerGuard else {
                answer.capture?.append(bytes)
                return await write(bytes, exchange: &exchange, writer: writer)
            }
            // The answer guard: the cache keeps the masked events, the client reads them restored;
            // text it holds back goes out with a later event.
            let screened = guarding.screenStream(bytes)
            exchange.answerGuard = guarding
            answer.capture?.append(screened.stored)
            return screened.client.isEmpty ? true : await write(screened.client, exchange: &exchange, writer: writer)
        }

        private mutating func write(_ bytes: [UInt8], exchange: inout Exchange, writer: some ResponseWriter) async
            -> Bool
        {
            do {
                if machine.willSend() { try await commit(exchange: &exchange, writer: writer) }
                try await exchange.waiting { try await writer.writeBodyPart(bytes) }
                return true
            } catch {
                return false
            }
        }

        static var contentType: String { "text/event-stream" }

        /// The commit point: the attempt succeeded and the response head goes out.
        func commit(exchange: inout Exchange, writer: some ResponseWriter) async throws {
            exchange.record.attempts.append(recorder.record(status: response.status, error: nil))
            exchange.record.status = response.status
            exchange.markFirstByte()
            let headers = exchange.responseHeaders([("content-type", Self.contentType), ("cache-control", "no-cache")])
            let status = response.status
            try await exchange.waiting { try await writer.writeHead(status: status, headers: headers) }
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
    }
}

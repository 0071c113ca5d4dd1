import Dialects
import GatewayCore

/// The attempt record of one target, timed from the attempt's start.
struct AttemptRecorder {
    let target: RouteTarget
    let started = ContinuousClock.now

    func record(status: Int?, error: String?) -> AttemptRecord {
        AttemptRecord(
            target: target.label,
            status: status,
            error: error,
            milliseconds: (ContinuousClock.now - started) / .milliseconds(1)
        )
    }
}

/// A provider's refusal of an attempt, in the terms every dialect shares.
struct ProviderRefusal {
    var label: String
    var failureClass: AttemptFailureClass
    var status: Int
    var contentType: String
    /// The body for the client, in OpenAI's error shape.
    var body: [UInt8]
}

extension RequestPipeline {
    /// Sends one upstream request; a transport failure becomes a classified failed attempt.
    func send(
        _ request: UpstreamRequest,
        recorder: AttemptRecorder,
        exchange: inout Exchange
    ) async throws(AttemptFailure) -> UpstreamResponse {
        do throws(UpstreamFailure) {
            let response = try await exchange.waiting { () async throws(UpstreamFailure) in
                try await transport.send(request)
            }
            exchange.lastHeadMicros = Int64((ContinuousClock.now - recorder.started) / .microseconds(1))
            // The gateway never asks for compression (no Accept-Encoding), so it never inflates
            // anything: an encoded body would reach the client as garbage, or be a decompression bomb.
            if let encoding = response.header("content-encoding")?.lowercased(), encoding != "identity" {
                response.body.cancel()
                throw UpstreamFailure(.other, "the provider sent a compressed body that was not asked for")
            }
            return response
        } catch {
            throw .failed(
                recorder.record(status: nil, error: error.description),
                Self.classify(error),
                timeout: error.isTimeout
            )
        }
    }

    /// Reads a whole answer body; a failure midway is a classified failed attempt.
    func collect(
        _ response: UpstreamResponse,
        recorder: AttemptRecorder,
        exchange: inout Exchange
    ) async throws(AttemptFailure) -> [UInt8] {
        do {
            return try await exchange.waiting { () async throws(UpstreamFailure) in
                try await response.body.collect(upTo: Self.maximumUpstreamBodyBytes)
            }
        } catch {
            throw .failed(
                recorder.record(status: response.status, error: error.description),
                Self.classify(error),
                timeout: error.isTimeout
            )
        }
    }

    /// Reads a whole answer that is passed through as it came: it must be JSON. A 2xx that is not
    /// (an HTML error page, a truncated or event-stream body) is a failed attempt, never relayed or cached.
    func collectJSON(
        _ response: UpstreamResponse,
        recorder: AttemptRecorder,
        exchange: inout Exchange
    ) async throws(AttemptFailure) -> [UInt8] {
        let answer = try await collect(response, recorder: recorder, exchange: &exchange)
        guard (try? JSONScanner.validate(answer)) != nil else {
            let attempt = recorder.record(
                status: response.status, error: "HTTP \(response.status) with a body that is not JSON")
            throw .failed(attempt, .transient, timeout: false)
        }
        return answer
    }

    /// The error body of a non-2xx answer (what could be read of it).
    func errorBody(_ response: UpstreamResponse, exchange: inout Exchange) async -> [UInt8] {
        (try? await exchange.waiting { () async throws(UpstreamFailure) in
            try await response.body.collect(upTo: 1024 * 1024)
        }) ?? []
    }

    /// Turns a refusal into the attempt's outcome: a failed attempt the state machine may retry
    /// elsewhere, or a final answer (the client's error) to relay.
    func refused(
        _ refusal: ProviderRefusal,
        recorder: AttemptRecorder,
        exchange: inout Exchange
    ) -> AttemptFailure {
        let attempt = recorder.record(status: refusal.status, error: refusal.label)
        guard refusal.failureClass == .fatal || refusal.failureClass == .contextLength else {
            return .failed(attempt, refusal.failureClass, timeout: false)
        }
        exchange.record.attempts.append(attempt)
        exchange.record.provider = recorder.target.provider.name
        exchange.record.upstreamModel = recorder.target.upstreamModel
        exchange.record.errorMessage = refusal.label
        return .final(
            status: refusal.status,
            contentType: refusal.contentType,
            body: scrubBody(refusal.body),
            contextLength: refusal.failureClass == .contextLength
        )
    }

    /// Sends a complete (non-stream) answer and notes it for the log and the cache.
    func deliver(
        _ body: [UInt8],
        status: Int,
        contentType: String,
        usage: TokenUsage?,
        estimateMissingUsage: Bool = true,
        attempt: AttemptRecord,
        exchange: inout Exchange,
        writer: some ResponseWriter
    ) async {
        exchange.record.attempts.append(attempt)
        // A success without a usage object is charged an estimate (about four bytes a token).
        exchange.record.usage =
            usage
            ?? (status == 200 && estimateMissingUsage ? estimatedUsage(exchange, outputTokens: body.count / 4) : nil)
        exchange.record.status = status
        if exchange.pricesByRespondingModel { exchange.respondingModel = Self.modelNamed(in: body) }
        exchange.capturedContentType = contentType
        exchange.capture(body)
        exchange.markFirstByte()
        let headers = exchange.responseHeaders([("content-type", contentType)])
        do {
            try await exchange.waiting { try await writer.writeComplete(status: status, headers: headers, body: body) }
        } catch {
            exchange.record.outcome = "client_closed"
        }
    }

    /// Notes the target that is answering.
    func answering(_ target: RouteTarget, exchange: inout Exchange) {
        exchange.record.provider = target.provider.name
        exchange.record.upstreamModel = target.upstreamModel
        exchange.servedPrice = target.price
        exchange.pricesByRespondingModel = target.price == nil && prices.price(for: target.upstreamModel) == nil
    }
}

extension RequestPipeline {
    /// The top-level `model` of a JSON answer, or of the first `data:` event of a stream.
    static func modelNamed(in bytes: [UInt8]) -> String? {
        var json = bytes[...]
        if let data = bytes.firstRange(of: Array("data:".utf8)) {
            let rest = bytes[data.upperBound...]
            let end = rest.firstIndex(of: 0x0A) ?? rest.endIndex
            json = rest[..<end]
        }
        let body = Array(json)
        guard let scan = try? JSONScanner.scanObject(body), let member = scan.member("model"),
            member.kind == .string
        else { return nil }
        return JSONScanner.string(body, at: member.valueRange)
    }
}

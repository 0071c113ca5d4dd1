import Dialects
import GatewayCore

/// One request on its way through the stages: what the client sent, the access record being
/// built, the headers the stages add to the answer, and the clocks that split latency into time in
/// the gateway and time waiting on others. What a stage decides for a later one (an admission
/// ticket, a cache plan, the answer's price) is that stage's return value, not a field here.
struct Exchange {
    /// The client's request; the guardrail stage may mask spans of its body.
    var request: GatewayRequest
    /// The dialect the client speaks, which shapes the gateway's own errors.
    let client: ClientDialect
    var record: AccessRecord
    /// The W3C trace this request belongs to (the client's, or a new one); each attempt is a span.
    let trace: TraceContext
    /// Headers the stages add to every response of this request (rate-limit state).
    var extraHeaders: [(name: String, value: String)] = []
    /// The answer side of the guardrails (masking, refusal, reversible placeholders); nil when
    /// the model has none and nothing is to be restored.
    var answerGuard: AnswerGuard?
    /// The request reached the cache stage, so `record.cache` is a real result for the metrics.
    var cacheConsulted = false
    /// Time spent awaiting the provider (head and body) or a slow client.
    private(set) var waitingElsewhere: Duration = .zero
    private(set) var firstByteAt: ContinuousClock.Instant?

    init(request: GatewayRequest, requestID: String, random: any RandomSource) {
        self.request = request
        self.client = ClientDialect(path: request.path)
        self.trace = TraceContext(request: request, random: random)
        self.record = AccessRecord(requestID: requestID, caller: "anonymous", route: request.path)
        self.record.traceID = trace.traceID
    }

    mutating func markFirstByte() {
        if firstByteAt == nil { firstByteAt = .now }
    }

    /// Time spent inside the gateway so far, in microseconds.
    var overheadMicroseconds: Int {
        let inGateway = (ContinuousClock.now - request.receivedAt) - waitingElsewhere
        return max(0, Int(inGateway / .microseconds(1)))
    }

    /// Runs `operation`, counting its duration as time spent outside the gateway.
    mutating func waiting<T, E: Error>(_ operation: () async throws(E) -> T) async throws(E) -> T {
        let start = ContinuousClock.now
        defer { waitingElsewhere += ContinuousClock.now - start }
        return try await operation()
    }

    /// Headers every response carries, after `base`.
    func responseHeaders(_ base: [(name: String, value: String)]) -> [(name: String, value: String)] {
        var headers = base
        headers.append(("x-request-id", record.requestID))
        if let provider = record.provider { headers.append(("x-llmgw-provider", provider)) }
        if !record.attempts.isEmpty { headers.append(("x-llmgw-attempts", String(record.attempts.count))) }
        if record.route.hasPrefix("/v1/") && record.route != "/v1/models" {
            headers.append(("x-llmgw-cache", record.cache.headerValue))
        }
        headers.append(contentsOf: extraHeaders)
        headers.append(("x-llmgw-overhead-us", String(overheadMicroseconds)))
        return headers
    }

    /// Answers with `error` in the client's shape and notes it for the log.
    mutating func respond(with error: GatewayError, to writer: some ResponseWriter) async {
        record.outcome = error.outcome
        record.errorMessage = error.message
        var headers = RequestPipeline.jsonHeaders
        if let retryAfter = error.retryAfterSeconds { headers.append(("retry-after", String(retryAfter))) }
        await writeComplete(status: error.status, headers: headers, body: client.errorBody(error), to: writer)
    }

    /// Sends a whole response; a client that went away is noted as `client_closed`.
    mutating func writeComplete(
        status: Int, headers: [(name: String, value: String)], body: [UInt8], to writer: some ResponseWriter
    ) async {
        record.status = status
        markFirstByte()
        let headers = responseHeaders(headers)
        do {
            try await waiting { try await writer.writeComplete(status: status, headers: headers, body: body) }
        } catch {
            record.outcome = .clientClosed
        }
    }
}

enum RequestID {
    /// A client-supplied id is echoed when it is short and printable (it ends up in logs).
    static func accept(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 128,
            value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { return nil }
        return value
    }

    /// The client's id when acceptable, else a fresh `req_` + 32 hex digits.
    static func of(_ request: GatewayRequest, random: any RandomSource) -> String {
        accept(request.header("x-request-id")) ?? generate(random)
    }

    static func generate(_ random: any RandomSource) -> String {
        let hex = String(random.next(), radix: 16) + String(random.next(), radix: 16)
        return "req_" + String(repeating: "0", count: max(0, 32 - hex.count)) + hex
    }
}

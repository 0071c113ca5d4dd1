import Dialects
import GatewayCore

/// How one attempt ended when it did not produce the answer.
enum AttemptFailure: Error {
    /// Nothing reached the client; what to do next depends on the class.
    case failed(AttemptRecord, AttemptFailureClass, timeout: Bool)
    /// The provider refused the request itself (a 4xx that another try would not change): relay
    /// it, unless it is a context-length error and a larger-context fallback is configured.
    case refused(ProviderRefusal)
}

/// A provider's refusal of an attempt, as it is relayed to the client.
struct ProviderRefusal: Sendable {
    var status: Int
    var contentType: String
    /// The body for the client, in its dialect, provider keys scrubbed.
    var body: [UInt8]
    var contextLength: Bool
}

/// What every attempt of one request sends: the client's request as inspected, and its endpoint.
struct AttemptRequest: Sendable {
    let summary: RequestSummary
    let endpoint: RequestInspection.Endpoint
    /// A Responses request's id and stored chain; nil on the other endpoints.
    var responses: ResponsesTurn? = nil
    /// Stores a Responses answer before its last byte reaches the client; nil when it is not kept.
    var keeper: ResponseKeeper? = nil
}

/// What the attempts produced, for settlement and the cache.
struct Answer: Sendable {
    /// The target that answered, once one does.
    var served: ServedTarget?
    /// Provider quota charges, reconciled in settlement to the tokens each target served.
    var targetTickets: [(label: String, ticket: AdmissionTicket)] = []
    /// What reached the client, kept for the cache; nil when the request does not use it.
    var capture: AnswerCapture?

    init(caching: Bool) {
        capture = caching ? AnswerCapture() : nil
    }
}

/// The target that answered and how its answer is priced.
struct ServedTarget: Sendable {
    let target: RouteTarget
    /// The target's configured price (overrides the shipped table).
    let price: ModelPrice?
    /// The target has no price of its own and the table does not know its model: price by the
    /// `model` its answer names (Azure deployments have names of their own).
    let pricesByRespondingModel: Bool
    /// Time from the attempt's start to the response head (for `least-latency`).
    let headMicros: Int64
    var respondingModel: String?
}

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

    /// Time from the attempt's start until now, in microseconds.
    var elapsedMicros: Int64 { Int64((ContinuousClock.now - started) / .microseconds(1)) }
}

/// What every kind of attempt shares: sending, reading the answer, turning a refusal into the
/// attempt's outcome, delivering a complete answer, and keeping provider keys out of what is relayed.
struct AttemptContext: Sendable {
    /// Largest non-stream upstream body relayed (a defence, far above any real answer).
    static let maximumUpstreamBodyBytes = 64 * 1024 * 1024

    let transport: any UpstreamTransport
    let keyring: ProviderKeyring
    let prices: PriceTable
    let streams: StreamRegistry
    let clock: any WallClock

    /// Sends one upstream request, as a span of the request's trace (`traceparent` with a new
    /// parent id per attempt); a transport failure becomes a classified failed attempt.
    func send(
        _ request: UpstreamRequest,
        recorder: AttemptRecorder,
        exchange: inout Exchange
    ) async throws(AttemptFailure) -> UpstreamResponse {
        var request = request
        request.headers.append(contentsOf: exchange.trace.headers(span: TraceContext.newSpanID()))
        if let scope = request.awsSigning {
            // Last, at send time: the signature covers every header and the time.
            let provider = recorder.target.provider.name
            guard let credentials = AWSCredentials(provider: provider, keyring: keyring.key(for:)) else {
                throw .failed(recorder.record(status: nil, error: "no AWS credentials"), .unavailable, timeout: false)
            }
            AWSSigV4Signer.sign(
                &request, credentials: credentials, scope: scope, epochSeconds: clock.nowMillis() / 1000)
        }
        do throws(UpstreamFailure) {
            let response = try await exchange.waiting { () async throws(UpstreamFailure) in
                try await transport.send(request)
            }
            // The gateway never asks for compression (no Accept-Encoding), so it never inflates
            // anything: an encoded body would reach the client as garbage, or be a decompression bomb.
            if let encoding = response.header("content-encoding")?.lowercased(), encoding != "identity" {
                response.body.cancel()
                throw UpstreamFailure(.other, "the provider sent a compressed body that was not asked for")
            }
            return response
        } catch {
            throw .failed(
                recorder.record(status: nil, error: error.description), FailureClass.of(error),
                timeout: error.isTimeout)
        }
    }

    /// What an attempt at `target` sends to prove the gateway's identity: the provider key, or a
    /// Vertex access token (minted and cached by the keyring). A token that cannot be had is a
    /// failed attempt at an unavailable target: the next one is tried.
    func credential(
        for target: RouteTarget, recorder: AttemptRecorder, exchange: inout Exchange
    ) async throws(AttemptFailure) -> ProviderCredential {
        do {
            return try await exchange.waiting { () async throws(AccessTokenFailure) in
                try await keyring.credential(
                    for: target.provider, transport: transport, clock: clock, timeouts: target.timeouts)
            }
        } catch {
            throw .failed(
                recorder.record(status: nil, error: error.description), .unavailable, timeout: error.isTimeout)
        }
    }

    /// The failover class of a provider's error answer (`FailureClass.of`). A 401 to a cached
    /// access token (Vertex's `ACCESS_TOKEN_EXPIRED`, a revoked token) drops the token and makes the
    /// failure transient, so the same target is tried again with a freshly minted one.
    func failureClass(
        _ error: CanonicalError, response: UpstreamResponse, credential: ProviderCredential, target: RouteTarget
    ) -> AttemptFailureClass {
        guard response.status == 401, credential.refreshable, let token = credential.secret else {
            return FailureClass.of(error, response: response)
        }
        keyring.invalidate(token: token, for: target.provider.name)
        return .transient
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
                recorder.record(status: response.status, error: error.description), FailureClass.of(error),
                timeout: error.isTimeout)
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

    /// Turns a provider's error answer into the attempt's outcome: a failed attempt the failover
    /// machine may retry elsewhere, or a refusal (the client's error) to relay.
    func refusal(
        label: String,
        failureClass: AttemptFailureClass,
        status: Int,
        providerStatus: Int? = nil,
        contentType: String,
        body: [UInt8],
        recorder: AttemptRecorder,
        exchange: inout Exchange
    ) -> AttemptFailure {
        // The log names what the provider answered; the client gets `status` in its own dialect.
        let attempt = recorder.record(status: providerStatus ?? status, error: label)
        guard failureClass == .fatal || failureClass == .contextLength else {
            return .failed(attempt, failureClass, timeout: false)
        }
        exchange.record.attempts.append(attempt)
        exchange.record.provider = recorder.target.provider.name
        exchange.record.upstreamModel = recorder.target.upstreamModel
        exchange.record.errorMessage = label
        return .refused(
            ProviderRefusal(
                status: status, contentType: contentType, body: scrub(body),
                contextLength: failureClass == .contextLength))
    }

    /// Notes the target that is answering (its response head is in).
    func answering(_ recorder: AttemptRecorder, exchange: inout Exchange, answer: inout Answer) {
        let target = recorder.target
        exchange.record.provider = target.provider.name
        exchange.record.upstreamModel = target.upstreamModel
        answer.served = ServedTarget(
            target: target,
            price: target.price,
            pricesByRespondingModel: target.price == nil && prices.price(for: target.upstreamModel) == nil,
            headMicros: recorder.elapsedMicros
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
        keeper: ResponseKeeper? = nil,
        exchange: inout Exchange,
        answer: inout Answer,
        writer: some ResponseWriter
    ) async {
        exchange.record.attempts.append(attempt)
        // A success without a usage object is charged an estimate (about four bytes a token).
        exchange.record.usage =
            usage
            ?? (status == 200 && estimateMissingUsage
                ? AdmissionEstimate.tokens(body: exchange.request.body).usage(outputTokens: body.count / 4) : nil)
        if answer.served?.pricesByRespondingModel == true { answer.served?.respondingModel = Self.modelNamed(in: body) }
        // The answer's guardrails: the cache and the store keep the masked answer, the client
        // reads it restored; a refused answer reaches neither.
        var screened = AnswerGuard.Output(stored: body, client: body)
        if (200..<300).contains(status), var guarding = exchange.answerGuard {
            screened = guarding.screenBody(body)
            exchange.answerGuard = guarding
            if let refusal = guarding.refusal {
                answer.capture = nil
                await exchange.respond(with: refusal.error, to: writer)
                return
            }
        }
        await keeper?.keep(screened.stored, provider: exchange.record.provider ?? "")
        answer.capture?.contentType = contentType
        answer.capture?.append(screened.stored)
        await exchange.writeComplete(
            status: status, headers: [("content-type", contentType)], body: screened.client, to: writer)
    }

    /// Removes any provider key from text that came from a provider.
    func scrub(_ text: String) -> String {
        var result = text
        for key in keyring.allKeys() where key.count >= 8 && result.contains(key) {
            result = result.replacing(key, with: "***")
        }
        return result
    }

    func scrub(_ body: [UInt8]) -> [UInt8] {
        let text = String(decoding: body, as: UTF8.self)
        let scrubbed = scrub(text)
        return scrubbed == text ? body : Array(scrubbed.utf8)
    }

    static func truncate(_ text: String, to limit: Int = 200) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }

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

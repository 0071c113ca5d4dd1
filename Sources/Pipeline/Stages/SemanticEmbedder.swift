import Dialects
import GatewayCore
import Synchronization

/// Embeds a prompt for the semantic cache by asking llmgw's own `cache.semantic.embedding_model`:
/// an internal `POST /v1/embeddings` through the same routing, providers, keys, quotas and
/// failover as any request, with an access-log line of its own (`"internal":"semantic_cache"`,
/// the client's caller, request id `<client's id>-embed`) and the request metrics. It is not
/// admitted against the caller's rate limits (the chat request was); its usage and cost go to
/// `internal:semantic_cache`, or with `chargeCaller` to the caller and its team (budgets included).
/// Provider quotas of the embedding targets apply.
///
/// `embed` waits at most `budget`: past it, or on any failure, it returns nil and the request
/// goes on as a miss. The internal request is then cancelled (its upstream transfer aborted) and
/// logged as `client_closed`.
struct SemanticEmbedder: Sendable {
    let model: String
    let budget: Duration
    let routing: RoutingStage
    let attempts: AttemptStage
    let settlement: SettlementStage
    let accessLog: AccessLogStage
    let random: any RandomSource
    /// `cache.semantic.charge_caller`.
    var chargeCaller = false

    /// Who the embedding traffic is charged to in the usage records.
    static let chargedCaller = "internal:semantic_cache"

    func embed(_ text: String, caller: String, team: String?, parentRequestID: String) async -> [Float]? {
        let outcome = Mutex<(resumed: Bool, continuation: CheckedContinuation<[Float]?, Never>?)>((false, nil))
        let finish: @Sendable ([Float]?) -> Void = { vector in
            let continuation = outcome.withLock { state -> CheckedContinuation<[Float]?, Never>? in
                guard !state.resumed else { return nil }
                state.resumed = true
                return state.continuation
            }
            continuation?.resume(returning: vector)
        }
        let work = Task {
            finish(await run(text, caller: caller, team: team, requestID: parentRequestID + "-embed"))
        }
        let timer = Task { [budget] in
            try? await Task.sleep(for: budget)
            finish(nil)
        }
        let vector = await withCheckedContinuation { continuation in
            let resumeNow = outcome.withLock { state -> Bool in
                if state.resumed { return true }
                state.continuation = continuation
                return false
            }
            // `finish` ran before the continuation was stored: nothing resumes it but us.
            if resumeNow { continuation.resume(returning: nil) }
        }
        timer.cancel()
        work.cancel()
        return vector
    }

    private func run(_ text: String, caller: String, team: String?, requestID: String) async -> [Float]? {
        var json = JSONWriter()
        json.object { json in
            json.field("model", model)
            json.field("input", text)
        }
        let request = GatewayRequest(
            method: "POST", path: "/v1/embeddings", headers: [("content-type", "application/json")], body: json.bytes)
        var exchange = Exchange(request: request, requestID: requestID, random: random)
        exchange.record.caller = caller
        exchange.record.model = model
        exchange.record.internal = "semantic_cache"
        let writer = CapturingResponseWriter()
        var answer = Answer(caching: false)
        do throws(GatewayError) {
            let summary = try RequestInspection.inspect(request.body, endpoint: .embeddings)
            let route = try await routing.route(for: model, body: request.body)
            try await attempts.run(
                route, AttemptRequest(summary: summary, endpoint: .embeddings), admission: .none,
                exchange: &exchange, answer: &answer, writer: writer)
        } catch {
            await accessLog.respond(with: error, exchange: &exchange, writer: writer)
        }
        if Task.isCancelled && exchange.record.outcome == .ok { exchange.record.outcome = .clientClosed }
        // Usage and spend go to `internal:semantic_cache` (`llmgw usage`) unless the caller is
        // charged; the log line names the caller whose prompt was embedded either way.
        var charged = exchange.record
        if !chargeCaller { charged.caller = Self.chargedCaller }
        await settlement.settle(
            &charged, team: chargeCaller ? team : nil, admission: .none, answer: answer, plan: nil)
        exchange.record.costUSD = charged.costUSD
        accessLog.finish(exchange)
        guard exchange.record.outcome == .ok, writer.status == 200 else { return nil }
        return Self.firstEmbedding(writer.body)
    }

    /// `data[0].embedding` of an OpenAI embeddings answer, as floats.
    static func firstEmbedding(_ body: [UInt8]) -> [Float]? {
        guard let values = (try? JSONScanner.parse(body))?["data"]?[0]?["embedding"]?.array, !values.isEmpty
        else { return nil }
        var vector: [Float] = []
        vector.reserveCapacity(values.count)
        for value in values {
            guard let number = value.double.map(Float.init), number.isFinite else { return nil }
            vector.append(number)
        }
        return vector
    }
}

/// A `ResponseWriter` that keeps what it is sent (the internal embedding request's answer).
final class CapturingResponseWriter: ResponseWriter {
    private let state = Mutex<(status: Int, body: [UInt8])>((0, []))

    var status: Int { state.withLock { $0.status } }
    var body: [UInt8] { state.withLock { $0.body } }

    func writeComplete(status: Int, headers: [(name: String, value: String)], body: [UInt8]) async throws {
        state.withLock { $0 = (status, body) }
    }

    func writeHead(status: Int, headers: [(name: String, value: String)]) async throws {
        state.withLock { $0.status = status }
    }

    func writeBodyPart(_ bytes: [UInt8]) async throws {
        state.withLock { $0.body += bytes }
    }

    func end() async throws {}
}

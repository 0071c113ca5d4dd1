import Dialects
import GatewayCore
import Synchronization

/// A request llmgw makes to one of its own models on a client request's behalf (the semantic
/// cache's embedding, a classifier guardrail's verdict): through the same routing, providers,
/// keys, quotas and failover as any request, with an access-log line of its own (`internal` set,
/// the client's caller, a request id derived from the client's) and the request metrics. It is
/// not admitted against the caller's rate limits (the client's request was); its usage and cost
/// go to `chargedCaller`, or to the caller and its team when `chargedCaller` is nil.
struct InternalRequest: Sendable {
    let routing: RoutingStage
    let attempts: AttemptStage
    let settlement: SettlementStage
    let accessLog: AccessLogStage
    let random: any RandomSource

    /// One internal request.
    struct Call: Sendable {
        var model: String
        var path: String
        var endpoint: RequestInspection.Endpoint
        var body: [UInt8]
        /// The access line's `internal` field (`semantic_cache`, `guardrail`).
        var purpose: String
        var caller: String
        var team: String?
        var requestID: String
        /// Who the usage is charged to; nil: the caller and its team.
        var chargedCaller: String?
    }

    /// Sends `call` and waits for the whole answer: its body when it succeeded (HTTP 200), nil on
    /// any failure. A cancelled task aborts the upstream transfer; the line then says
    /// `client_closed`.
    func run(_ call: Call) async -> [UInt8]? {
        let request = GatewayRequest(
            method: "POST", path: call.path, headers: [("content-type", "application/json")], body: call.body)
        var exchange = Exchange(request: request, requestID: call.requestID, random: random)
        exchange.record.caller = call.caller
        exchange.record.model = call.model
        exchange.record.internal = call.purpose
        let writer = CapturingResponseWriter()
        var answer = Answer(caching: false)
        do throws(GatewayError) {
            let summary = try RequestInspection.inspect(request.body, endpoint: call.endpoint)
            let route = try await routing.route(for: call.model, body: request.body)
            try await attempts.run(
                route, AttemptRequest(summary: summary, endpoint: call.endpoint), admission: .none,
                exchange: &exchange, answer: &answer, writer: writer)
        } catch {
            await accessLog.respond(with: error, exchange: &exchange, writer: writer)
        }
        if Task.isCancelled && exchange.record.outcome == .ok { exchange.record.outcome = .clientClosed }
        // The log line names the caller whose text was sent either way.
        var charged = exchange.record
        if let chargedCaller = call.chargedCaller { charged.caller = chargedCaller }
        await settlement.settle(
            &charged, team: call.chargedCaller == nil ? call.team : nil, admission: .none, answer: answer, plan: nil)
        exchange.record.costUSD = charged.costUSD
        accessLog.finish(exchange)
        guard exchange.record.outcome == .ok, writer.status == 200 else { return nil }
        return writer.body
    }

    /// The value of `work`, waited for at most `budget`: past it (or when the calling task is
    /// cancelled) nil, and `work`'s task is cancelled (an internal request in it aborts its
    /// upstream transfer). `work` is never awaited beyond the budget.
    static func within<Value: Sendable>(
        _ budget: Duration, _ work: @escaping @Sendable () async -> Value?
    ) async -> Value? {
        let state = Mutex(BudgetState<Value>())
        // The first of the work and the timer decides; the other finds `finished` set.
        let finish: @Sendable (Value?) -> Void = { value in
            let continuation = state.withLock { state -> CheckedContinuation<Value?, Never>? in
                guard !state.finished else { return nil }
                state.finished = true
                state.value = value
                return state.continuation
            }
            continuation?.resume(returning: value)
        }
        let task = Task { finish(await work()) }
        let timer = Task {
            try? await Task.sleep(for: budget)
            finish(nil)
        }
        // The client's request going away ends the wait too (and so cancels the work).
        let value = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                // Decided before the continuation was stored: nothing resumes it but us.
                let decided = state.withLock { state -> Value?? in
                    if state.finished { return .some(state.value) }
                    state.continuation = continuation
                    return nil
                }
                if let decided { continuation.resume(returning: decided) }
            }
        } onCancel: {
            finish(nil)
        }
        timer.cancel()
        task.cancel()
        return value
    }
}

/// Which of `InternalRequest.within`'s work and timer finished first, and the waiter.
private struct BudgetState<Value: Sendable> {
    var finished = false
    var value: Value?
    var continuation: CheckedContinuation<Value?, Never>?
}

/// A `ResponseWriter` that keeps what it is sent (an internal request's answer).
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

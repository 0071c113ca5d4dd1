import Dialects
import GatewayCore
import Logging
import Synchronization

/// Runs every request through the gateway, in this order (DESIGN.md §1):
///
///     1. accept     (Server) HTTP/1.1 over UDS or loopback TCP; body limit; read timeout
///     2. identify   virtual key, or peer credentials of the Unix-socket caller
///     3. admit      rate limits and budgets, checked and charged in one shared-state transaction
///     4. cache      exact-match lookup; a hit skips 5–7 and still runs 8–9
///     5. route      model alias -> ordered candidate targets
///     6. attempt    translate to the provider dialect, inject the key, send with libcurl;
///                   classify failures; fail over while nothing has reached the client
///     7. stream     relay the response in the client's dialect
///     8. settle     reconcile tokens and cost against real usage; store to cache; provider health
///     9. log        one access-log line
///
/// `handle` reads top to bottom in that order. Stages 3, 4 and the cache/health parts of 8 arrive
/// with the shared state; their places are marked.
public final class RequestPipeline: Sendable {
    let configuration: GatewayConfiguration
    let router: Router
    let keyring: ProviderKeyring
    let transport: any UpstreamTransport
    let accessLog: any AccessLogSink
    let logger: Logger
    let prices: PriceTable
    let retryPolicy: RetryPolicy
    let state: SharedState?
    let authenticator: Authenticator
    let draining = Atomic<Bool>(false)
    let startedAtEpochSeconds: Int
    /// The wall clock for limits, budgets, circuits and cache expiry (injected in tests).
    let clock: any WallClock

    /// Largest non-stream upstream body relayed (a defence, far above any real answer).
    static let maximumUpstreamBodyBytes = 64 * 1024 * 1024

    public init(
        configuration: GatewayConfiguration,
        keyring: ProviderKeyring,
        transport: any UpstreamTransport,
        accessLog: any AccessLogSink,
        logger: Logger,
        prices: PriceTable = PriceTable(),
        state: SharedState? = nil,
        clock: any WallClock = SystemWallClock()
    ) {
        self.clock = clock
        self.configuration = configuration
        self.prices = prices
        self.retryPolicy = configuration.retry
        self.state = state
        self.authenticator = Authenticator(mode: configuration.auth.mode, keys: state?.keys)
        self.router = Router(configuration: configuration)
        self.keyring = keyring
        self.transport = transport
        self.accessLog = accessLog
        self.logger = logger
        self.startedAtEpochSeconds = Int(Timestamp.epochSeconds())
    }

    /// Marks the gateway as shutting down: `/readyz` answers 503 from now on.
    public func beginDraining() {
        draining.store(true, ordering: .relaxed)
    }

    public func handle(_ request: GatewayRequest, writer: some ResponseWriter) async {
        switch (request.method, request.path) {
        case ("POST", "/v1/chat/completions"):
            await handleProxied(request, endpoint: .chatCompletions, writer: writer)
        case ("POST", "/v1/embeddings"):
            await handleProxied(request, endpoint: .embeddings, writer: writer)
        case ("POST", "/v1/messages"):
            await handleProxied(request, endpoint: .messages, writer: writer)
        case ("POST", "/v1/messages/count_tokens"):
            await handleSimple(request, writer: writer) { exchange in
                try await self.countTokens(&exchange, writer: writer)
            }
        case ("GET", "/v1/models"):
            await handleSimple(request, writer: writer) { exchange in
                await self.listModels(writer: writer, &exchange)
            }
        case ("GET", "/healthz"):
            try? await writer.writeComplete(
                status: 200, headers: Self.jsonHeaders, body: Array(#"{"status":"ok"}"#.utf8))
        case ("GET", "/readyz"):
            let ready = !draining.load(ordering: .relaxed)
            try? await writer.writeComplete(
                status: ready ? 200 : 503,
                headers: Self.jsonHeaders,
                body: Array((ready ? #"{"status":"ready"}"# : #"{"status":"draining"}"#).utf8)
            )
        case (_, "/v1/chat/completions"), (_, "/v1/embeddings"), (_, "/v1/models"), (_, "/v1/messages"),
            (_, "/v1/messages/count_tokens"):
            await handleSimple(request, writer: writer) { _ in
                throw GatewayError(.methodNotAllowed, "Method \(request.method) is not allowed on \(request.path).")
            }
        default:
            await handleSimple(request, writer: writer) { _ in
                throw GatewayError(.notFound, "Unknown request URL: \(request.method) \(request.path).")
            }
        }
    }

    /// A request that goes to a provider (OpenAI or Anthropic dialect): the whole pipeline.
    private func handleProxied(
        _ request: GatewayRequest,
        endpoint: OpenAIPassthrough.Endpoint,
        writer: some ResponseWriter
    ) async {
        var exchange = Exchange(request: request)
        do {
            // 2. identify
            try await identify(&exchange)
            let summary = try OpenAIPassthrough.inspect(request.body, endpoint: endpoint)
            exchange.record.model = summary.model
            exchange.record.stream = summary.stream
            try authorize(model: summary.model, exchange: exchange)
            // 5. route (resolved before admission: the first target prices the reservation)
            let route = await balanced(try router.route(for: summary.model), body: request.body)
            // 3. admit
            try await admit(&exchange, targets: route.candidates)
            // 4. cache: a hit skips 6–7
            exchange.cachePlan = cachePlan(exchange, summary: summary, endpoint: endpoint)
            exchange.record.cache = exchange.cachePlan == nil ? "bypass" : "miss"
            if let plan = exchange.cachePlan {
                exchange.captured = []
                if await serveFromCache(plan, exchange: &exchange, writer: writer) {
                    await settle(&exchange)
                    finish(&exchange)
                    return
                }
            }
            // 6. attempt + 7. stream
            try await attempt(route, summary: summary, endpoint: endpoint, exchange: &exchange, writer: writer)
        } catch {
            await respond(with: error, exchange: &exchange, writer: writer)
        }
        // 8. settle: price the real usage, reconcile the reservation, add to the usage totals.
        await settle(&exchange)
        // 9. log
        finish(&exchange)
    }

    /// Requests answered by the gateway itself (models list, errors for unknown routes).
    private func handleSimple(
        _ request: GatewayRequest,
        writer: some ResponseWriter,
        _ body: (inout Exchange) async throws -> Void
    ) async {
        var exchange = Exchange(request: request)
        do {
            try await identify(&exchange)
            try await body(&exchange)
        } catch let error as GatewayError {
            await respond(with: error, exchange: &exchange, writer: writer)
        } catch {
            await respond(with: GatewayError(.internalError, "Internal error."), exchange: &exchange, writer: writer)
        }
        // Settles whatever was admitted (count_tokens), on every path.
        await settle(&exchange)
        finish(&exchange)
    }

    private func listModels(writer: some ResponseWriter, _ exchange: inout Exchange) async {
        var json = JSONWriter()
        json.object { json in
            json.field("object", "list")
            json.key("data")
            json.array { json in
                for name in router.modelNames {
                    json.object { json in
                        json.field("id", name)
                        json.field("object", "model")
                        json.field("created", startedAtEpochSeconds)
                        json.field("owned_by", "llmgw")
                    }
                }
            }
        }
        exchange.record.status = 200
        exchange.markFirstByte()
        try? await writer.writeComplete(
            status: 200, headers: exchange.responseHeaders(Self.jsonHeaders), body: json.bytes)
    }

    static let jsonHeaders: [(name: String, value: String)] = [("content-type", "application/json")]
}

extension RequestPipeline {
    /// Answers a request the server refused before it was complete (body too large), with the
    /// usual headers and access-log line.
    public func reject(_ request: GatewayRequest, with error: GatewayError, writer: some ResponseWriter) async {
        var exchange = Exchange(request: request)
        try? await identify(&exchange)
        await respond(with: error, exchange: &exchange, writer: writer)
        finish(&exchange)
    }
}

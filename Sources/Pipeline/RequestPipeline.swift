import Dialects
import GatewayCore
import Logging
import Synchronization

/// Runs every request through the gateway. `handleProxied` is the one orchestrator: it calls the
/// stages (`Sources/Pipeline/Stages/`) in this order, each with its dependencies in its declaration
/// and its decision as its return value (docs/design.md, the request's path):
///
///     1. accept     (Server) HTTP/1.1 over UDS or loopback TCP; body limit; read timeout
///     2. identify   virtual key, or peer credentials of the Unix-socket caller; the model allowed
///     3. route      model alias -> ordered candidate targets (before admission: the first target
///                   prices the reservation)
///     4. admit      rate limits and budgets, checked and charged in one shared-state transaction
///     5. cache      exact-match lookup, then on a miss the semantic lookup (the prompt embedded
///                   by the embedding model); a hit skips 6–7 and still runs 8–9
///     6. attempt    translate to the provider dialect, inject the key, send with libcurl;
///                   classify failures; fail over while nothing has reached the client
///     7. relay      the answer in the client's dialect (a stream through `StreamRelay`)
///     8. settle     real usage priced; reservation and provider quotas reconciled; cache store
///     9. log        one access-log line; the request metrics
///
/// `GET /healthz`, `/readyz` and `/metrics` are answered here directly and are not counted as
/// requests.
public final class RequestPipeline: Sendable {
    /// What `GET /metrics` serves. One for the life of the process: a reload keeps the counts.
    public let metrics: GatewayMetrics
    let streams = StreamRegistry()
    let draining = Atomic<Bool>(false)
    /// What a new configuration is wired to: the same for every generation.
    private let wiring: PipelineWiring
    /// The configuration being served. A request takes the generation current when it arrives and
    /// keeps it to its end, so a reload never changes a request (or a stream) under way.
    private let current: Mutex<ConfiguredPipeline>

    public init(
        configuration: GatewayConfiguration,
        keyring: ProviderKeyring,
        transport: any UpstreamTransport,
        accessLog: any AccessLogSink,
        logger: Logger,
        prices: PriceTable = PriceTable(),
        state: SharedState? = nil,
        clock: any WallClock = SystemWallClock(),
        random: any RandomSource = SystemRandomSource(),
        metrics: GatewayMetrics? = nil
    ) {
        let metrics = metrics ?? GatewayMetrics(configuration: configuration)
        self.metrics = metrics
        wiring = PipelineWiring(
            transport: transport, accessLog: accessLog, logger: logger, prices: prices,
            state: state?.countingErrors(in: metrics), clock: clock,
            random: random, metrics: metrics, streams: streams,
            startedAtEpochSeconds: Int(clock.nowMillis() / 1000))
        current = Mutex(ConfiguredPipeline(configuration: configuration, keyring: keyring, wiring: wiring))
    }

    /// The configuration new requests are served with.
    public var configuration: GatewayConfiguration { current.withLock { $0.configuration } }

    /// Serves `configuration` from the next request on (SIGHUP). Requests and streams under way
    /// finish on the configuration they started with. The caller has validated it and resolved its
    /// keys into `keyring`; what only a restart can change (`ReloadPlan.restartRequired`) is ignored.
    public func reload(_ configuration: GatewayConfiguration, keyring: ProviderKeyring) {
        metrics.addModels(configuration.models.map(\.name))
        let next = ConfiguredPipeline(configuration: configuration, keyring: keyring, wiring: wiring)
        current.withLock { $0 = next }
    }

    /// Marks the gateway as shutting down: `/readyz` answers 503 from now on.
    public func beginDraining() {
        draining.store(true, ordering: .relaxed)
    }

    /// The drain timeout ran out: every stream still being relayed ends now with its dialect's
    /// in-band error event (no `[DONE]`, no `message_stop`), and its upstream transfer is aborted.
    public func cutStreams() {
        streams.cutAll()
    }

    public func handle(_ request: GatewayRequest, writer: some ResponseWriter) async {
        let configured = current.withLock { $0 }
        if await answeredProbe(request, writer: writer) { return }
        if request.method == "GET" && request.path == "/metrics" {
            await serveMetrics(request, served: configured.servesMetrics, configured: configured, writer: writer)
            return
        }
        metrics.requestStarted()
        defer { metrics.requestEnded() }
        await configured.route(request, writer: writer)
    }

    /// What the `admin:` listener serves: `/metrics` (unless `metrics.enabled: false`), `/healthz`
    /// and `/readyz`; anything else is a 404 with no access line.
    public func handleAdmin(_ request: GatewayRequest, writer: some ResponseWriter) async {
        let configured = current.withLock { $0 }
        if await answeredProbe(request, writer: writer) { return }
        let served = configured.configuration.metrics.enabled != false
        await serveMetrics(
            request, served: served && request.method == "GET" && request.path == "/metrics", configured: configured,
            writer: writer)
    }

    /// `GET /healthz` and `/readyz`, which are not requests: true when `request` was one.
    private func answeredProbe(_ request: GatewayRequest, writer: some ResponseWriter) async -> Bool {
        switch (request.method, request.path) {
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
        default:
            return false
        }
        return true
    }

    /// Answers a request the server refused before it was complete (body too large), with the
    /// usual headers and access-log line.
    public func reject(_ request: GatewayRequest, with error: GatewayError, writer: some ResponseWriter) async {
        metrics.requestStarted()
        defer { metrics.requestEnded() }
        await current.withLock { $0 }.reject(request, with: error, writer: writer)
    }

    /// `GET /metrics`: the Prometheus text exposition of this process, or, where metrics are not
    /// served (`metrics.enabled: false`, `auth.mode: keys` without it, or the data listeners when an
    /// `admin:` listener serves them), the 404 of an unknown URL.
    private func serveMetrics(
        _ request: GatewayRequest, served: Bool, configured: ConfiguredPipeline, writer: some ResponseWriter
    ) async {
        guard served else {
            let error = GatewayError(.notFound, "Unknown request URL: \(request.method) \(request.path).")
            try? await writer.writeComplete(
                status: error.status, headers: Self.jsonHeaders,
                body: ClientDialect(path: request.path).errorBody(error))
            return
        }
        try? await writer.writeComplete(
            status: 200, headers: [("content-type", GatewayMetrics.contentType)],
            body: metrics.exposition(activeStreams: streams.count, shared: await sharedFigures(configured)))
    }

    /// The circuit of every target of the configuration served, and the cache's size, read from
    /// the shared state at the scrape (a failed read leaves its series out and is counted in
    /// `llmgw_store_errors_total`).
    private func sharedFigures(_ configured: ConfiguredPipeline) async -> SharedStateFigures {
        var figures = SharedStateFigures()
        let targets = configured.circuitTargets
        if let circuits = wiring.state?.circuits, !targets.isEmpty,
            let states = try? await circuits.states(of: targets)
        {
            let now = wiring.clock.nowMillis()
            let policy = configured.configuration.circuit
            figures.circuits = zip(targets, states).map { ($0, $1.phase(nowMillis: now, policy: policy)) }
        }
        if let cache = wiring.state?.cache { figures.cacheBytes = try? await cache.usedBytes() }
        if let fleet = wiring.state?.admission as? FleetAdmissionStore {
            figures.fleet = (!fleet.isDegraded, fleet.fallbackCount, fleet.pendingCount)
        }
        return figures
    }

    static let jsonHeaders: [(name: String, value: String)] = [("content-type", "application/json")]
}

/// What every configuration generation of a pipeline shares: the transport, the log, the state,
/// the clocks, the metrics and the registry of streams (so a drain cuts the streams of every
/// generation still running).
struct PipelineWiring: Sendable {
    let transport: any UpstreamTransport
    let accessLog: any AccessLogSink
    let logger: Logger
    let prices: PriceTable
    let state: SharedState?
    let clock: any WallClock
    let random: any RandomSource
    let metrics: GatewayMetrics
    let streams: StreamRegistry
    let startedAtEpochSeconds: Int
}

/// One configuration's stages, built once per configuration (at start and on each reload).
final class ConfiguredPipeline: Sendable {
    let configuration: GatewayConfiguration
    let identification: IdentifyStage
    let routing: RoutingStage
    let admission: AdmissionStage
    let cache: CacheStage
    let semanticCache: SemanticCacheStage
    let guardrails: GuardrailStage
    let classifiers: ClassifierStage
    let attempts: AttemptStage
    let settlement: SettlementStage
    let accessLog: AccessLogStage
    let countTokens: CountTokensEndpoint
    /// Stored Responses answers; nil without shared state or with `responses.store: false`.
    let responseStore: ResponseStore?
    let router: Router
    let random: any RandomSource
    let startedAtEpochSeconds: Int
    /// `GET /metrics` is answered (`metrics.enabled`, see `MetricsConfiguration`); else it is a 404.
    let servesMetrics: Bool
    /// Every configured target (`provider/model`) once, in config order: `llmgw_circuit_state`.
    let circuitTargets: [String]

    init(configuration: GatewayConfiguration, keyring: ProviderKeyring, wiring: PipelineWiring) {
        let (state, clock, logger, prices, metrics) =
            (wiring.state, wiring.clock, wiring.logger, wiring.prices, wiring.metrics)
        let router = Router(configuration: configuration)
        let context = AttemptContext(
            transport: wiring.transport, keyring: keyring, prices: prices, streams: wiring.streams, clock: clock)
        let identification = IdentifyStage(
            authenticator: Authenticator(
                configuration: configuration.auth, callers: configuration.callers, keys: state?.keys), clock: clock)
        let admission = AdmissionStage(state: state, prices: prices, logger: logger, clock: clock, metrics: metrics)
        let cache = CacheStage(configuration: configuration, cache: state?.cache, logger: logger, clock: clock)
        self.configuration = configuration
        self.router = router
        self.random = wiring.random
        self.identification = identification
        let routing = RoutingStage(router: router, prices: prices, stats: state?.stats, random: wiring.random)
        self.routing = routing
        self.admission = admission
        self.cache = cache
        self.guardrails = GuardrailStage(configuration: configuration)
        let attempts = AttemptStage(
            context: context,
            admission: admission,
            policy: configuration.retry,
            circuits: state?.circuits,
            circuitPolicy: configuration.circuit,
            stats: state?.stats,
            clock: clock,
            random: wiring.random
        )
        self.attempts = attempts
        let settlement = SettlementStage(
            admission: state?.admission, cache: cache, prices: prices, logger: logger, clock: clock)
        self.settlement = settlement
        let accessLog = AccessLogStage(sink: wiring.accessLog, metrics: metrics)
        self.accessLog = accessLog
        self.classifiers = ClassifierStage(
            configuration: configuration,
            request: InternalRequest(
                routing: routing, attempts: attempts, settlement: settlement, accessLog: accessLog,
                random: wiring.random),
            clock: clock)
        self.semanticCache = SemanticCacheStage(
            configuration: configuration, index: state?.semantic, cache: state?.cache,
            embedder: configuration.cache.semantic.embeddingModel.map { model in
                SemanticEmbedder(
                    model: model, budget: configuration.cache.semantic.budget, routing: routing,
                    attempts: attempts, settlement: settlement, accessLog: accessLog, random: wiring.random,
                    chargeCaller: configuration.cache.semantic.chargeCaller)
            },
            logger: logger, clock: clock)
        self.countTokens = CountTokensEndpoint(
            identify: identification, router: router, admission: admission, context: context)
        self.responseStore =
            configuration.responses.store
            ? state?.responses.map { ResponseStore(backend: $0, ttl: configuration.responses.ttl, clock: clock) } : nil
        self.startedAtEpochSeconds = wiring.startedAtEpochSeconds
        self.servesMetrics =
            configuration.admin == nil && configuration.metrics.isServed(under: configuration.auth.mode)
        var seen = Set<String>()
        self.circuitTargets = configuration.models.flatMap(\.targets).map { "\($0.provider)/\($0.model)" }
            .filter { seen.insert($0).inserted }
    }

    /// Every request that is counted: the API, and the gateway's own answers to anything else.
    func route(_ request: GatewayRequest, writer: some ResponseWriter) async {
        switch (request.method, request.path) {
        case ("POST", "/v1/chat/completions"):
            await handleProxied(request, endpoint: .chatCompletions, writer: writer)
        case ("POST", "/v1/embeddings"):
            await handleProxied(request, endpoint: .embeddings, writer: writer)
        case ("POST", "/v1/completions"):
            await handleProxied(request, endpoint: .completions, writer: writer)
        case ("POST", "/v1/moderations"):
            await handleProxied(request, endpoint: .moderations, writer: writer)
        case ("POST", "/v1/messages"):
            await handleProxied(request, endpoint: .messages, writer: writer)
        case ("POST", "/v1/responses"):
            await handleProxied(request, endpoint: .responses, writer: writer)
        case ("GET", let path) where path.hasPrefix(Self.responsePathPrefix),
            ("DELETE", let path) where path.hasPrefix(Self.responsePathPrefix):
            await handleSimple(request, writer: writer) { identity, exchange, _ throws(GatewayError) in
                try await self.answerStoredResponse(
                    String(path.dropFirst(Self.responsePathPrefix.count)), method: request.method,
                    caller: identity.caller, exchange: &exchange, writer: writer)
                return .none
            }
        case ("POST", "/v1/messages/count_tokens"):
            await handleSimple(request, writer: writer) { identity, exchange, answer throws(GatewayError) in
                try await self.countTokens.run(identity: identity, exchange: &exchange, answer: &answer, writer: writer)
            }
        case ("GET", "/v1/models"):
            await handleSimple(request, writer: writer) { identity, exchange, _ in
                await exchange.writeComplete(
                    status: 200, headers: Self.jsonHeaders, body: self.modelList(for: identity), to: writer)
                return .none
            }
        case ("GET", let path) where path.hasPrefix(Self.modelPathPrefix):
            await handleSimple(request, writer: writer) { identity, exchange, _ throws(GatewayError) in
                let id = String(path.dropFirst(Self.modelPathPrefix.count))
                let name = Self.percentDecoded(id) ?? id
                guard self.modelNames(for: identity).contains(name) else {
                    throw GatewayError(
                        .notFound, "The model `\(name)` does not exist or you do not have access to it.",
                        param: "model")
                }
                var json = JSONWriter()
                self.writeModel(name, into: &json)
                await exchange.writeComplete(status: 200, headers: Self.jsonHeaders, body: json.bytes, to: writer)
                return .none
            }
        case (_, "/v1/chat/completions"), (_, "/v1/embeddings"), (_, "/v1/models"), (_, "/v1/messages"),
            (_, "/v1/messages/count_tokens"), (_, "/v1/responses"), (_, "/v1/completions"), (_, "/v1/moderations"):
            await handleSimple(request, writer: writer) { _, _, _ throws(GatewayError) in
                throw GatewayError(.methodNotAllowed, "Method \(request.method) is not allowed on \(request.path).")
            }
        case (_, let path) where path.hasPrefix(Self.modelPathPrefix) || path.hasPrefix(Self.responsePathPrefix):
            await handleSimple(request, writer: writer) { _, _, _ throws(GatewayError) in
                throw GatewayError(.methodNotAllowed, "Method \(request.method) is not allowed on \(request.path).")
            }
        default:
            await handleSimple(request, writer: writer) { _, _, _ throws(GatewayError) in
                throw GatewayError(.notFound, "Unknown request URL: \(request.method) \(request.path).")
            }
        }
    }

    /// A request that goes to a provider (OpenAI or Anthropic dialect): the whole pipeline.
    private func handleProxied(
        _ request: GatewayRequest,
        endpoint: RequestInspection.Endpoint,
        writer: some ResponseWriter
    ) async {
        var request = request
        var exchange = Exchange(request: request, requestID: RequestID.of(request, random: random), random: random)
        var identity = Authenticator.Identity.anonymous
        var admitted = Admission.none
        var plan: CachePlan?
        var semantic: SemanticPlan?
        var embedding: SemanticVector?
        var answer = Answer(caching: false)
        var requestGuardrails = GuardrailReport()
        do throws(GatewayError) {
            // 2. identify
            identity = try await identification.identify(request)
            exchange.record.caller = identity.caller
            var summary = try RequestInspection.inspect(request.body, endpoint: endpoint)
            exchange.record.model = summary.model
            exchange.record.stream = summary.stream
            try identification.authorize(model: summary.model, for: identity)
            // 3. route
            let route = try await routing.route(for: summary.model, body: request.body)
            // 4. admit
            admitted = try await admission.admit(identity, body: request.body, targets: route.candidates)
            exchange.extraHeaders += admitted.headers
            if let refusal = admitted.refusal { throw refusal }
            // 4b. guardrails: mask, refuse or count what the model's guardrails find
            var screened = guardrails.screenRequest(request.body, model: summary.model, caller: identity.guardrails)
            var classified = ClassifierStage.Outcome()
            if screened.refusal == nil, classifiers.applies(to: summary.model, callerGuardrails: identity.guardrails) {
                // kind: classifier, after the others (it sees the masked text)
                let (body, model, caller, team) = (screened.body, summary.model, identity.caller, identity.team)
                let (requestID, callerGuardrails) = (exchange.record.requestID, identity.guardrails)
                classified = await exchange.waiting {
                    await classifiers.screen(
                        body, model: model, callerGuardrails: callerGuardrails, caller: caller, team: team,
                        requestID: requestID)
                }
                screened.report.merge(classified.report)
            }
            requestGuardrails = screened.report
            if !screened.report.isEmpty {
                exchange.record.guardrails = screened.report.summary
                accessLog.metrics.recordGuardrails(screened.report)
            }
            if let refusal = screened.refusal { throw refusal.error }
            if let refusal = classified.refusal { throw refusal }
            exchange.answerGuard = guardrails.answerGuard(
                for: summary.model, caller: identity.guardrails, endpoint: endpoint, screened: screened,
                dialect: exchange.client)
            if screened.body != request.body {
                request.body = screened.body
                exchange.request.body = screened.body
                // The summary's member ranges index the body: read them again from the masked one.
                summary = try RequestInspection.inspect(request.body, endpoint: endpoint)
            }
            // 5. cache: a hit skips 6–7
            plan = cache.plan(for: request, model: summary.model, caller: identity.caller)
            exchange.cacheConsulted = true
            exchange.record.cache = plan == nil ? .bypass : .miss
            answer = Answer(caching: plan != nil)
            if let plan, let hit = await cache.lookup(plan) {
                await cache.serve(hit, exchange: &exchange, writer: writer)
                // 8. settle + 9. log
                await settlement.settleCacheHit(
                    &exchange.record, team: identity.team, admission: admitted, usage: hit.usage)
                noteAnswerGuardrails(&exchange, request: requestGuardrails)
                accessLog.finish(exchange)
                return
            }
            semantic = semanticCache.plan(for: request, model: summary.model, caller: identity.caller, exact: plan)
            if let semantic {
                let (caller, team, requestID) = (identity.caller, identity.team, exchange.record.requestID)
                embedding = await exchange.waiting {
                    await semanticCache.embed(semantic, caller: caller, team: team, requestID: requestID)
                }
                if let embedding, let hit = await semanticCache.lookup(semantic, vector: embedding) {
                    await cache.serve(hit.response, similarity: hit.similarity, exchange: &exchange, writer: writer)
                    await settlement.settleCacheHit(
                        &exchange.record, team: identity.team, admission: admitted, usage: hit.response.usage)
                    noteAnswerGuardrails(&exchange, request: requestGuardrails)
                    accessLog.finish(exchange)
                    return
                }
            }
            // 6. attempt + 7. relay
            var attempt = AttemptRequest(summary: summary, endpoint: endpoint)
            if endpoint == .responses {
                let turn = try await responsesTurn(request.body, caller: identity.caller)
                attempt.responses = turn
                if turn.store, let responseStore {
                    attempt.keeper = ResponseKeeper(store: responseStore, turn: turn, caller: identity.caller)
                }
            }
            try await attempts.run(
                route, attempt, admission: admitted, exchange: &exchange, answer: &answer, writer: writer)
        } catch {
            await accessLog.respond(with: error, exchange: &exchange, writer: writer)
        }
        // 8. settle
        await settlement.settle(
            &exchange.record, team: identity.team, admission: admitted, answer: answer, plan: plan)
        if let semantic, let embedding, let plan, answer.capture?.bytes != nil {
            await semanticCache.store(semantic, vector: embedding, answerKey: plan.key, record: exchange.record)
        }
        // 9. log
        noteAnswerGuardrails(&exchange, request: requestGuardrails)
        accessLog.finish(exchange)
    }

    /// The answer's guardrail counts join the request's in the access line, and go to the metrics.
    private func noteAnswerGuardrails(_ exchange: inout Exchange, request: GuardrailReport) {
        guard let report = exchange.answerGuard?.report, !report.isEmpty else { return }
        var merged = request
        merged.merge(report)
        exchange.record.guardrails = merged.summary
        accessLog.metrics.recordGuardrails(report)
    }

    /// Requests answered by the gateway itself (models list, count_tokens, errors for unknown
    /// routes): identified, answered by `body`, settled (count_tokens is admitted) and logged.
    private func handleSimple(
        _ request: GatewayRequest,
        writer: some ResponseWriter,
        _ body: (Authenticator.Identity, inout Exchange, inout Answer) async throws(GatewayError) -> Admission
    ) async {
        var exchange = Exchange(request: request, requestID: RequestID.of(request, random: random), random: random)
        var identity = Authenticator.Identity.anonymous
        var admitted = Admission.none
        var answer = Answer(caching: false)
        do throws(GatewayError) {
            identity = try await identification.identify(request)
            exchange.record.caller = identity.caller
            admitted = try await body(identity, &exchange, &answer)
        } catch {
            await accessLog.respond(with: error, exchange: &exchange, writer: writer)
        }
        await settlement.settle(
            &exchange.record, team: identity.team, admission: admitted, answer: answer, plan: nil)
        accessLog.finish(exchange)
    }

    static let modelPathPrefix = "/v1/models/"
    static let responsePathPrefix = "/v1/responses/"

    /// A Responses request's id and the stored chain it continues. Only the caller's own entries
    /// are found; a chain llmgw does not have is left to the targets (a Responses provider may
    /// hold it; a translated one answers `previous_response_not_found`).
    private func responsesTurn(_ body: [UInt8], caller: String) async throws(GatewayError) -> ResponsesTurn {
        // Read without building the whole tree: only `input` is parsed, and only to be stored.
        let scan = try? JSONScanner.scanObject(body)
        let previousID = scan?.member("previous_response_id").flatMap { JSONScanner.string(body, at: $0.valueRange) }
        let storeOff = scan?.member("store").map { $0.kind == .bool && body[$0.valueRange.lowerBound] == 0x66 }
        let storing = responseStore != nil && storeOff != true
        var history: ResponseStore.Entry?
        if let previousID, let responseStore {
            history = try await responseStore.load(previousID, caller: caller)
        }
        var input: [JSONValue] = []
        if storing, let member = scan?.member("input") {
            input = try ResponsesRequestDecoder.inputItems(try? JSONScanner.parse(body, in: member.valueRange))
        }
        return ResponsesTurn(
            id: ResponsesTurn.mintID(random), history: history, previousID: previousID, input: input, store: storing)
    }

    /// `GET /v1/responses/{id}` (the stored `Response` object) and `DELETE` (removes it): only
    /// the caller's own; anything else is a 404.
    private func answerStoredResponse(
        _ id: String, method: String, caller: String, exchange: inout Exchange, writer: some ResponseWriter
    ) async throws(GatewayError) {
        let id = Self.percentDecoded(id) ?? id
        let notFound = GatewayError(.notFound, "Response with id '\(id)' not found.").withOpenAICode(nil)
        guard let responseStore, !id.isEmpty, !id.contains("/") else { throw notFound }
        if method == "DELETE" {
            guard try await responseStore.delete(id, caller: caller) else { throw notFound }
            var json = JSONWriter()
            json.object { json in
                json.field("id", id)
                json.field("object", "response.deleted")
                json.field("deleted", true)
            }
            await exchange.writeComplete(status: 200, headers: Self.jsonHeaders, body: json.bytes, to: writer)
            return
        }
        guard let entry = try await responseStore.load(id, caller: caller) else { throw notFound }
        await exchange.writeComplete(status: 200, headers: Self.jsonHeaders, body: entry.response, to: writer)
    }

    /// `%XX` escapes decoded (the SDKs escape `/` and `@` in a model id); nil when malformed.
    static func percentDecoded(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        func hex(_ byte: UInt8?) -> UInt8? {
            switch byte {
            case let byte? where (0x30...0x39).contains(byte): byte - 0x30
            case let byte? where (0x41...0x46).contains(byte): byte - 0x41 + 10
            case let byte? where (0x61...0x66).contains(byte): byte - 0x61 + 10
            default: nil
            }
        }
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = hex(iterator.next()), let low = hex(iterator.next()) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The configured aliases the caller may use (its key's or its `callers:` entry's models).
    private func modelNames(for identity: Authenticator.Identity) -> [String] {
        guard let allowed = identity.allowedModels else { return router.modelNames }
        return router.modelNames.filter(allowed.contains)
    }

    /// `GET /v1/models`: the aliases this caller may use, as OpenAI model objects.
    private func modelList(for identity: Authenticator.Identity) -> [UInt8] {
        var json = JSONWriter()
        json.object { json in
            json.field("object", "list")
            json.key("data")
            json.array { json in
                for name in modelNames(for: identity) { writeModel(name, into: &json) }
            }
        }
        return json.bytes
    }

    /// One model object, as in the list and `GET /v1/models/{id}`.
    private func writeModel(_ name: String, into json: inout JSONWriter) {
        json.object { json in
            json.field("id", name)
            json.field("object", "model")
            json.field("created", startedAtEpochSeconds)
            json.field("owned_by", "llmgw")
        }
    }

    static let jsonHeaders = RequestPipeline.jsonHeaders

    func reject(_ request: GatewayRequest, with error: GatewayError, writer: some ResponseWriter) async {
        var exchange = Exchange(request: request, requestID: RequestID.of(request, random: random), random: random)
        if let identity = try? await identification.identify(request) { exchange.record.caller = identity.caller }
        await accessLog.respond(with: error, exchange: &exchange, writer: writer)
        accessLog.finish(exchange)
    }
}

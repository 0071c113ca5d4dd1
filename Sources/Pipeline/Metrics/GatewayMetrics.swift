import GatewayCore
import Prometheus
import Synchronization

/// The figures `GET /metrics` serves (docs/metrics.md has every name, type, label and meaning).
/// One instance per pipeline: each sidecar exposes its own numbers, and tests run many gateways in
/// one process, so nothing here is global.
///
/// Recording is cheap: the series a request touches are made once per label set and kept in
/// `HandleCache`s (one hash of a few existing strings under a lock), the per-model series are made
/// up front for every configured model, and a count is an atomic add. What only matters when
/// scraped (requests in flight, streams, log drops, the process's own figures) is read at scrape
/// time and written by hand after the registry's output.
public final class GatewayMetrics: Sendable {
    /// The version `llmgw_build_info` reports.
    public static let version = LLMGWVersion.current

    /// `Content-Type` of the exposition (Prometheus text format 0.0.4).
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    let registry = PrometheusCollectorRegistry()
    private let logLines: LineWriter?
    private let inFlight = Atomic<Int>(0)
    /// Configured model aliases and their series; any other model name is labelled "". A reload
    /// adds the series of new aliases (those of removed ones stay: a counter never goes away).
    private let models: Mutex<[String: ModelSeries]>
    private let requests = HandleCache<RequestKey, RequestSeries>()
    private let tokens = HandleCache<TokenKey, ValueHistogram>()
    private let attempts = HandleCache<AttemptKey, Counter>()
    private let guardrailMatches = HandleCache<GuardrailReport.Key, Counter>()
    private let overhead: ValueHistogram
    private let cacheHits: Counter
    private let cacheSemanticHits: Counter
    private let cacheMisses: Counter
    private let cacheBypasses: Counter
    private let rateLimited: [LimitScope: Counter]
    private let budgetRejections: [LimitScope: Counter]
    private let storeErrors: [StoreOperation: Counter]

    /// - Parameters:
    ///   - models: the configured model aliases (the only model names used as labels).
    ///   - logLines: the writer whose dropped lines `llmgw_log_lines_dropped_total` reports.
    public init(models: [String], logLines: LineWriter? = nil) {
        self.logLines = logLines
        let registry = self.registry
        var series: [String: ModelSeries] = [:]
        for model in models { series[model] = ModelSeries(model: model, registry: registry) }
        self.models = Mutex(series)
        overhead = registry.makeValueHistogram(
            descriptor: Names.overhead, labels: [], buckets: Buckets.overheadSeconds)
        let cache = { (result: CacheStatus) in
            registry.makeCounter(descriptor: Names.cacheRequests, labels: [("result", result.rawValue)])
        }
        cacheHits = cache(.hit)
        cacheSemanticHits = cache(.semanticHit)
        cacheMisses = cache(.miss)
        cacheBypasses = cache(.bypass)
        var limited: [LimitScope: Counter] = [:]
        for scope in LimitScope.allCases {
            limited[scope] = registry.makeCounter(descriptor: Names.rateLimited, labels: [("scope", scope.rawValue)])
        }
        rateLimited = limited
        var budgets: [LimitScope: Counter] = [:]
        for scope in [LimitScope.key, .caller, .team] {
            budgets[scope] = registry.makeCounter(
                descriptor: Names.budgetRejections, labels: [("scope", scope.rawValue)])
        }
        budgetRejections = budgets
        var errors: [StoreOperation: Counter] = [:]
        for operation in StoreOperation.allCases {
            errors[operation] = registry.makeCounter(
                descriptor: Names.storeErrors, labels: [("op", operation.rawValue)])
        }
        storeErrors = errors
    }

    /// The metrics of a gateway serving `configuration`.
    public convenience init(configuration: GatewayConfiguration, logLines: LineWriter? = nil) {
        self.init(models: configuration.models.map(\.name), logLines: logLines)
    }

    /// Makes the series of every alias in `names` not made yet (a reload that adds models).
    func addModels(_ names: [String]) {
        let registry = self.registry
        models.withLock { models in
            for name in names where models[name] == nil { models[name] = ModelSeries(model: name, registry: registry) }
        }
    }

    // MARK: Recording

    /// A request the gateway serves began (`llmgw_inflight_requests`).
    func requestStarted() {
        inFlight.add(1, ordering: .relaxed)
    }

    /// A request begun with `requestStarted` ended.
    func requestEnded() {
        inFlight.subtract(1, ordering: .relaxed)
    }

    /// A request refused by a rate limit of `scope` (for `target`: one target passed over at its
    /// provider quota).
    func rateLimited(_ scope: LimitScope) {
        rateLimited[scope]?.increment()
    }

    /// A request refused by the budget of `scope` (`key` or `team`).
    func budgetRejected(_ scope: LimitScope) {
        budgetRejections[scope]?.increment()
    }

    /// A shared-state operation failed (`StoreErrorCounting`).
    func storeFailed(_ operation: StoreOperation) {
        storeErrors[operation]?.increment()
    }

    /// Counts one finished request from its access record. `cacheConsulted` says whether it got
    /// as far as the cache stage (a request refused before it has no cache result).
    func record(_ record: AccessRecord, cacheConsulted: Bool) {
        let route = MetricLabels.route(record.route)
        let modelSeries = record.model.flatMap { model in models.withLock { $0[model] } }
        let operation = MetricLabels.operation(route)
        // The GenAI metrics describe calls to providers: a cache hit or a request refused before
        // any target was tried made none.
        let calledProvider =
            operation != nil && !record.cache.isHit && record.attempts.contains { !$0.skipped }
        let key = RequestKey(
            route: route,
            model: modelSeries?.model ?? "",
            provider: record.provider ?? "",
            upstreamModel: record.upstreamModel ?? "",
            status: record.status,
            outcome: record.outcome,
            stream: record.stream,
            calledProvider: calledProvider
        )
        let series = requests.handle(key) { RequestSeries($0, registry: registry) }
        series.requests.increment()
        overhead.record(Double(record.overheadMicroseconds) / 1_000_000)
        series.operationDuration?.record(record.latencyMilliseconds / 1000)
        if let ttft = series.timeToFirstToken, let ttfb = record.ttfbMilliseconds {
            ttft.record(ttfb / 1000)
            // After the first token, per further output token (the conventions' definition).
            if let perToken = series.timePerOutputToken, let output = record.usage?.completionTokens, output > 1 {
                perToken.record(max(0, record.latencyMilliseconds - ttfb) / 1000 / Double(output - 1))
            }
        }
        if calledProvider, let operation, let usage = record.usage {
            recordTokens(usage, operation: operation, key: key)
        }
        for attempt in record.attempts {
            let result = MetricLabels.attemptResult(attempt)
            attempts.handle(AttemptKey(target: attempt.target, result: result)) { key in
                self.registry.makeCounter(
                    descriptor: Names.attempts, labels: [("target", key.target), ("result", key.result)])
            }
            .increment()
        }
        if let modelSeries {
            let failovers = MetricLabels.failovers(record.attempts)
            if failovers > 0 { modelSeries.failovers.increment(by: Int64(failovers)) }
            if record.outcome == .streamCut { modelSeries.streamCuts.increment() }
            if let cost = record.costUSD, cost > 0 { modelSeries.cost.increment(by: cost) }
        }
        if cacheConsulted {
            switch record.cache {
            case .hit: cacheHits.increment()
            case .semanticHit: cacheSemanticHits.increment()
            case .miss: cacheMisses.increment()
            case .bypass: cacheBypasses.increment()
            }
        }
    }

    /// `llmgw_guardrail_matches_total`: what the guardrails found in one request.
    func recordGuardrails(_ report: GuardrailReport) {
        for (key, count) in report.counts {
            guardrailMatches.handle(key) { key in
                self.registry.makeCounter(
                    descriptor: Names.guardrailMatches,
                    labels: [("guardrail", key.guardrail), ("entity", key.entity), ("action", key.action)])
            }
            .increment(by: Int64(count))
        }
    }

    /// `gen_ai_client_token_usage`: input (cached included) and output always, cached input and
    /// reasoning when the provider reported some.
    private func recordTokens(_ usage: TokenUsage, operation: String, key: RequestKey) {
        func observe(_ type: TokenType, _ count: Int) {
            let tokenKey = TokenKey(
                operation: operation, provider: key.provider, model: key.model, upstreamModel: key.upstreamModel,
                type: type)
            tokens.handle(tokenKey) { key in
                self.registry.makeValueHistogram(
                    descriptor: Names.tokenUsage,
                    labels: [
                        ("gen_ai_operation_name", key.operation), ("gen_ai_provider_name", key.provider),
                        ("gen_ai_request_model", key.model), ("gen_ai_response_model", key.upstreamModel),
                        ("gen_ai_token_type", key.type.rawValue),
                    ],
                    buckets: Buckets.tokens
                )
            }
            .record(Double(count))
        }
        observe(.input, usage.promptTokens)
        observe(.output, usage.completionTokens)
        if usage.cachedPromptTokens > 0 { observe(.cachedInput, usage.cachedPromptTokens) }
        if usage.reasoningTokens > 0 { observe(.reasoning, usage.reasoningTokens) }
    }

    // MARK: Scraping

    /// The whole exposition: the registry's series, then what is read at scrape time.
    /// `activeStreams` is the number of streams being relayed now; `shared` what the shared state
    /// held at the scrape (nil where it could not be read: those series are left out).
    func exposition(activeStreams: Int, shared: SharedStateFigures = .init()) -> [UInt8] {
        var text = ExpositionText()
        registry.emit(into: &text.bytes)
        if let circuits = shared.circuits {
            text.family(
                "llmgw_circuit_state", type: "gauge",
                help: "Circuit of each configured target: 0 closed, 1 half-open, 2 open.")
            for (target, phase) in circuits {
                text.sample(
                    "llmgw_circuit_state", labels: #"target="\#(ExpositionText.escape(target))""#,
                    Double(phase.rawValue))
            }
        }
        if let cacheBytes = shared.cacheBytes {
            text.family(
                "llmgw_cache_bytes", type: "gauge",
                help: "Bytes the shared response cache holds against cache.max_bytes.")
            text.sample("llmgw_cache_bytes", Double(cacheBytes))
        }
        if let fleet = shared.fleet {
            text.family(
                "llmgw_shared_state_up", type: "gauge",
                help: "1 while the fleet's shared store (shared.redis) answers, 0 while on_error applies.")
            text.sample("llmgw_shared_state_up", fleet.up ? 1 : 0)
            text.family(
                "llmgw_shared_state_fallbacks_total", type: "counter",
                help: "Admission and settlement calls decided by shared.on_error, the fleet's store failing.")
            text.sample("llmgw_shared_state_fallbacks_total", Double(fleet.fallbacks))
            text.family(
                "llmgw_shared_state_pending_charges", type: "gauge",
                help: "Charges admitted under on_error: allow, waiting for the fleet's store.")
            text.sample("llmgw_shared_state_pending_charges", Double(fleet.pending))
        }
        text.family("llmgw_inflight_requests", type: "gauge", help: "Requests being served now.")
        text.sample("llmgw_inflight_requests", Double(inFlight.load(ordering: .relaxed)))
        text.family("llmgw_active_streams", type: "gauge", help: "Streams being relayed to clients now.")
        text.sample("llmgw_active_streams", Double(activeStreams))
        text.family(
            "llmgw_log_lines_dropped_total", type: "counter",
            help: "Log lines dropped because stdout did not keep up.")
        text.sample("llmgw_log_lines_dropped_total", Double(logLines?.droppedLines ?? 0))
        text.family("llmgw_build_info", type: "gauge", help: "The llmgw build serving; always 1.")
        text.sample("llmgw_build_info", labels: #"version="\#(Self.version)""#, 1)
        ProcessStats.read().write(to: &text)
        return text.bytes
    }
}

// MARK: - Names, buckets, series

/// The frozen metric names (docs/metrics.md). Computed: `MetricNameDescriptor` is not `Sendable`,
/// and a descriptor is only needed when a series is made.
enum Names {
    static var operationDuration: MetricNameDescriptor {
        descriptor(
            "gen_ai_client_operation_duration_seconds", "Duration of GenAI operations that called a provider.")
    }
    static var tokenUsage: MetricNameDescriptor {
        descriptor("gen_ai_client_token_usage", "Tokens used per GenAI operation, by token type.")
    }
    static var timeToFirstToken: MetricNameDescriptor {
        descriptor(
            "gen_ai_server_time_to_first_token_seconds", "Time to the first byte of a successful stream.")
    }
    static var requests: MetricNameDescriptor {
        descriptor("llmgw_requests_total", "Requests served, by route, model, provider, status.")
    }
    static var overhead: MetricNameDescriptor {
        descriptor(
            "llmgw_overhead_seconds", "Time spent in llmgw itself per request (not waiting on providers or clients).")
    }
    static var attempts: MetricNameDescriptor {
        descriptor("llmgw_attempts_total", "Attempts at upstream targets, by result.")
    }
    static var guardrailMatches: MetricNameDescriptor {
        descriptor("llmgw_guardrail_matches_total", "Guardrail matches, by guardrail, entity type and action.")
    }
    static var failovers: MetricNameDescriptor {
        descriptor("llmgw_failovers_total", "Moves from one target to another within a request.")
    }
    static var streamCuts: MetricNameDescriptor {
        descriptor(
            "llmgw_stream_cuts_total", "Committed streams ended with an in-band error instead of their end.")
    }
    static var cacheRequests: MetricNameDescriptor {
        descriptor("llmgw_cache_requests_total", "Response cache results of requests.")
    }
    static var rateLimited: MetricNameDescriptor {
        descriptor("llmgw_rate_limited_total", "Refusals by rate limits and provider quotas.")
    }
    static var budgetRejections: MetricNameDescriptor {
        descriptor("llmgw_budget_rejections_total", "Requests refused by a budget.")
    }
    static var timePerOutputToken: MetricNameDescriptor {
        descriptor(
            "gen_ai_server_time_per_output_token_seconds",
            "Time per output token after the first, of a successful stream.")
    }
    static var storeErrors: MetricNameDescriptor {
        descriptor("llmgw_store_errors_total", "Shared-state operations that failed, by operation.")
    }
    static var cost: MetricNameDescriptor {
        descriptor("llmgw_cost_usd_total", "Provider cost of served requests in US dollars.")
    }

    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}

/// Histogram buckets: OpenTelemetry's advice for the GenAI metrics, and microseconds to 0.1 s for
/// the gateway's own overhead.
enum Buckets {
    static let operationSeconds = [
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
    ]
    static let firstTokenSeconds = [
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
    ]
    static let perOutputTokenSeconds = [
        0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
    ]
    static let tokens: [Double] = [
        1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262_144, 1_048_576, 4_194_304, 16_777_216, 67_108_864,
    ]
    static let overheadSeconds = [
        0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    ]
}

/// `gen_ai_token_type` values.
enum TokenType: String, Sendable {
    case input, output
    case cachedInput = "cached_input"
    case reasoning
}

/// The labels of one request's series. Every field is a bounded value (see `MetricLabels`).
struct RequestKey: Hashable, Sendable {
    var route: String
    var model: String
    var provider: String
    var upstreamModel: String
    var status: Int
    var outcome: Outcome
    var stream: Bool
    var calledProvider: Bool
}

/// The series one kind of request counts in, made once per `RequestKey`.
struct RequestSeries: Sendable {
    let requests: Counter
    /// Only for GenAI operations that called a provider.
    let operationDuration: ValueHistogram?
    /// Only for successful streams that called a provider.
    let timeToFirstToken: ValueHistogram?
    let timePerOutputToken: ValueHistogram?

    init(_ key: RequestKey, registry: PrometheusCollectorRegistry) {
        requests = registry.makeCounter(
            descriptor: Names.requests,
            labels: [
                ("route", key.route), ("model", key.model), ("provider", key.provider),
                ("status", MetricLabels.status(key.status)), ("outcome", key.outcome.rawValue),
            ])
        guard key.calledProvider, let operation = MetricLabels.operation(key.route) else {
            operationDuration = nil
            timeToFirstToken = nil
            timePerOutputToken = nil
            return
        }
        let genAI = [
            ("gen_ai_operation_name", operation), ("gen_ai_provider_name", key.provider),
            ("gen_ai_request_model", key.model), ("gen_ai_response_model", key.upstreamModel),
        ]
        operationDuration = registry.makeValueHistogram(
            descriptor: Names.operationDuration, labels: genAI + [("error_type", MetricLabels.errorType(key.outcome))],
            buckets: Buckets.operationSeconds)
        let successfulStream = key.stream && key.status == 200
        timeToFirstToken =
            successfulStream
            ? registry.makeValueHistogram(
                descriptor: Names.timeToFirstToken, labels: genAI, buckets: Buckets.firstTokenSeconds)
            : nil
        timePerOutputToken =
            successfulStream
            ? registry.makeValueHistogram(
                descriptor: Names.timePerOutputToken, labels: genAI, buckets: Buckets.perOutputTokenSeconds)
            : nil
    }
}

struct TokenKey: Hashable, Sendable {
    var operation: String
    var provider: String
    var model: String
    var upstreamModel: String
    var type: TokenType
}

struct AttemptKey: Hashable, Sendable {
    var target: String
    var result: String
}

/// The per-model counters, made at start for every configured model (so they read 0, not absent).
struct ModelSeries: Sendable {
    let model: String
    let failovers: Counter
    let streamCuts: Counter
    let cost: Counter

    init(model: String, registry: PrometheusCollectorRegistry) {
        self.model = model
        failovers = registry.makeCounter(descriptor: Names.failovers, labels: [("model", model)])
        streamCuts = registry.makeCounter(descriptor: Names.streamCuts, labels: [("model", model)])
        cost = registry.makeCounter(descriptor: Names.cost, labels: [("model", model)])
    }
}

/// What `/metrics` reads from the shared state at each scrape.
struct SharedStateFigures: Sendable {
    /// Each configured target (`provider/model`) with its circuit's phase, in config order.
    var circuits: [(target: String, phase: CircuitState.Phase)]?
    var cacheBytes: Int?
    /// `shared:`: the fleet's store answering, admissions decided without it, charges waiting.
    var fleet: (up: Bool, fallbacks: Int, pending: Int)?
}

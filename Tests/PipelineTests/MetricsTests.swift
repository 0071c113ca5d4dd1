import GatewayCore
import GatewayTesting
import Logging
import Testing

@testable import Pipeline

/// `GET /metrics` of one in-process gateway: after a known set of requests, exactly those counts.
@Suite struct MetricsTests {
    static let providerSecret = "sk-provider-secret-0123456789"

    /// Keys required, `metrics.enabled: true`, the cache on; `primary` holds a provider key.
    private func harness(metricsEnabled: Bool? = true) -> PipelineHarness {
        var configuration = ChatScript.configuration
        configuration.auth.mode = .keys
        configuration.cache.enabled = true
        configuration.metrics.enabled = metricsEnabled
        return PipelineHarness(
            configuration, keyring: ProviderKeyring(["primary": Self.providerSecret]),
            stores: [.keysAndAdmission, .cache])
    }

    /// `GET /metrics` straight through the pipeline (it writes no access line).
    private func scrape(_ gateway: PipelineHarness) async -> RecordingWriter {
        let writer = RecordingWriter()
        let request = GatewayRequest(method: "GET", path: "/metrics", headers: [], body: [])
        await gateway.pipeline.handle(request, writer: writer)
        return writer
    }

    @Test func aKnownSetOfRequestsShowsExactlyThoseCounts() async throws {
        let gateway = harness()
        let key = try gateway.makeKey(limits: LimitSettings(requestsPerMinute: 100))
        let oneRequest = try gateway.makeKey(name: "one", limits: LimitSettings(requestsPerMinute: 1))
        let stream = ScriptedAnswer.response(
            headers: [("content-type", "text/event-stream")], chunks: ChatScript.streamChunks)
        gateway.transport.enqueue(
            [ChatScript.ok, .failure(.connect, "Couldn't connect to server"), stream], for: "http://primary")
        gateway.transport.enqueue([ChatScript.ok], for: "http://backup")

        // ok (a cache miss, stored), then the same again: a cache hit.
        #expect(await gateway.send(.chatRequest(model: "smart", text: "a"), key: key.text).status == 200)
        let hit = await gateway.send(.chatRequest(model: "smart", text: "a"), key: key.text)
        #expect(hit.header("x-llmgw-cache") == "hit")
        // An unknown model: 404, and its made-up name is no label.
        #expect(await gateway.send(.chatRequest(model: "made-up-model", text: "b"), key: key.text).status == 404)
        // A failover: primary cannot be reached, backup answers.
        let failover = await gateway.send(.chatRequest(model: "smart", text: "c"), key: key.text)
        #expect(failover.header("x-llmgw-provider") == "backup")
        // A stream, then the same key over its one request a minute: 429.
        let streamed = await gateway.send(
            .chatRequest(model: "smart", stream: true, includeUsage: true, text: "d"), key: oneRequest.text)
        #expect(streamed.body.hasSuffix("data: [DONE]\n\n"))
        #expect(await gateway.send(.chatRequest(model: "smart", text: "e"), key: oneRequest.text).status == 429)

        let reply = await scrape(gateway)
        #expect(reply.status == 200)
        #expect(reply.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
        let metrics = MetricsScrape(reply.body)
        let chat = "/v1/chat/completions"
        func requests(_ provider: String, _ status: String, _ outcome: String, model: String = "smart") -> Double? {
            metrics.value(
                "llmgw_requests_total",
                ["route": chat, "model": model, "provider": provider, "status": status, "outcome": outcome])
        }
        #expect(requests("primary", "200", "ok") == 2)
        #expect(requests("primary", "200", "cache_hit") == 1)
        #expect(requests("backup", "200", "ok") == 1)
        #expect(requests("", "404", "not_found", model: "") == 1)
        #expect(requests("", "429", "rate_limited") == 1)
        #expect(metrics.total("llmgw_requests_total") == 6)

        #expect(metrics.value("llmgw_attempts_total", ["target": "primary/gpt-4o", "result": "ok"]) == 2)
        #expect(
            metrics.value("llmgw_attempts_total", ["target": "primary/gpt-4o", "result": "transport_error"]) == 1)
        #expect(metrics.value("llmgw_attempts_total", ["target": "backup/gpt-4o-mini", "result": "ok"]) == 1)
        #expect(metrics.total("llmgw_attempts_total") == 4)
        #expect(metrics.value("llmgw_failovers_total", ["model": "smart"]) == 1)
        #expect(metrics.value("llmgw_stream_cuts_total", ["model": "smart"]) == 0)
        #expect(metrics.value("llmgw_cache_requests_total", ["result": "hit"]) == 1)
        #expect(metrics.value("llmgw_cache_requests_total", ["result": "miss"]) == 3)
        #expect(metrics.value("llmgw_cache_requests_total", ["result": "bypass"]) == 0)
        #expect(metrics.value("llmgw_rate_limited_total", ["scope": "key"]) == 1)
        #expect(metrics.value("llmgw_rate_limited_total", ["scope": "team"]) == 0)
        #expect(metrics.value("llmgw_budget_rejections_total", ["scope": "key"]) == 0)

        let primary = [
            "gen_ai_operation_name": "chat", "gen_ai_provider_name": "primary", "gen_ai_request_model": "smart",
            "gen_ai_response_model": "gpt-4o",
        ]
        let backup = primary.merging(["gen_ai_provider_name": "backup", "gen_ai_response_model": "gpt-4o-mini"]) {
            $1
        }
        let ok = ["error_type": ""]
        let duration = "gen_ai_client_operation_duration_seconds_count"
        #expect(metrics.value(duration, primary.merging(ok) { $1 }) == 2)
        #expect(metrics.value(duration, backup.merging(ok) { $1 }) == 1)
        #expect(metrics.total(duration) == 3)
        #expect(metrics.value("gen_ai_server_time_to_first_token_seconds_count", primary) == 1)
        #expect(metrics.total("gen_ai_server_time_to_first_token_seconds_count") == 1)
        let input = primary.merging(["gen_ai_token_type": "input"]) { $1 }
        let output = primary.merging(["gen_ai_token_type": "output"]) { $1 }
        #expect(metrics.value("gen_ai_client_token_usage_count", input) == 2)
        #expect(metrics.value("gen_ai_client_token_usage_sum", input) == 8)  // 5 + 3
        #expect(metrics.value("gen_ai_client_token_usage_sum", output) == 8)  // 7 + 1
        #expect(metrics.value("gen_ai_client_token_usage_bucket", input.merging(["le": "4.0"]) { $1 }) == 1)
        #expect(metrics.value("gen_ai_client_token_usage_bucket", input.merging(["le": "16.0"]) { $1 }) == 2)

        #expect(metrics.value("llmgw_overhead_seconds_count") == 6)
        #expect(metrics.value("llmgw_inflight_requests") == 0)
        #expect(metrics.value("llmgw_active_streams") == 0)
        #expect(metrics.value("llmgw_build_info", ["version": GatewayMetrics.version]) == 1)
        #expect(metrics.types["llmgw_requests_total"] == "counter")
        #expect(metrics.types["gen_ai_client_operation_duration_seconds"] == "histogram")
        #expect(metrics.types["llmgw_inflight_requests"] == "gauge")
        #expect((metrics.value("process_resident_memory_bytes") ?? 0) > 0)
        #expect((metrics.value("process_open_fds") ?? 0) > 0)
        #expect((metrics.value("process_start_time_seconds") ?? 0) > 1_600_000_000)
        #expect(metrics.value("process_cpu_seconds_total") != nil)

        // Scraping counted nothing, and the text names neither a secret nor a caller.
        #expect(MetricsScrape((await scrape(gateway)).body).total("llmgw_requests_total") == 6)
        for secret in [Self.providerSecret, key.text, key.secret, key.publicID, oneRequest.publicID, "made-up-model"] {
            #expect(!reply.body.contains(secret))
        }
    }

    @Test func costAndPricesAreCountedPerModel() async throws {
        var configuration = ChatScript.configuration(smart: [
            .init(provider: "primary", model: "gpt-4o", price: ModelPrice(input: 1_000_000, output: 0))
        ])
        configuration.metrics.enabled = true
        let gateway = PipelineHarness(configuration)
        gateway.transport.always(ChatScript.ok, for: "http://primary")
        await gateway.send(.chatRequest(model: "smart"))
        await gateway.send(.chatRequest(model: "smart"))
        let metrics = MetricsScrape((await scrape(gateway)).body)
        // 5 prompt tokens at $1 each, twice.
        #expect(metrics.value("llmgw_cost_usd_total", ["model": "smart"]) == 10)
    }

    @Test func pathsAndStatusesAreBoundedLabels() async throws {
        let gateway = harness(metricsEnabled: true)
        let key = try gateway.makeKey()
        await gateway.send("", to: "/v1/unknown/\(key.publicID)", method: "GET", key: key.text)
        await gateway.send("", to: "/admin", method: "GET")
        let metrics = MetricsScrape((await scrape(gateway)).body)
        #expect(
            metrics.value(
                "llmgw_requests_total",
                ["route": "other", "model": "", "provider": "", "status": "404", "outcome": "not_found"]) == 1)
        #expect(
            metrics.value(
                "llmgw_requests_total",
                ["route": "other", "model": "", "provider": "", "status": "401", "outcome": "unauthorized"]) == 1)
        // No GenAI series for requests that never called a provider.
        #expect(metrics.series("gen_ai_client_operation_duration_seconds_count").isEmpty)
    }

    @Test func keysModeAnswers404UnlessMetricsAreEnabled() async throws {
        #expect(await scrape(harness(metricsEnabled: nil)).status == 404)
        #expect(await scrape(harness(metricsEnabled: false)).status == 404)
        #expect(await scrape(harness(metricsEnabled: true)).status == 200)
        // Without keys, on unless switched off.
        #expect(await scrape(PipelineHarness(ChatScript.configuration)).status == 200)
        var off = ChatScript.configuration
        off.metrics.enabled = false
        #expect(await scrape(PipelineHarness(off)).status == 404)
    }

    @Test func circuitStateAndCacheBytesAreReadFromTheSharedState() async throws {
        var configuration = ChatScript.configuration
        configuration.cache.enabled = true
        let gateway = PipelineHarness(configuration, stores: [.keysAndAdmission, .cache, .circuits])
        gateway.transport.enqueue([ChatScript.ok], for: "http://primary")
        #expect(await gateway.send(.chatRequest(model: "smart", text: "a")).status == 200)
        // Another sidecar opened the circuit of the first target.
        let now = gateway.clock.nowMillis()
        for _ in 0..<configuration.circuit.failures {
            try gateway.circuits.record(
                "primary/gpt-4o", success: false, policy: configuration.circuit, nowMillis: now)
        }

        var metrics = MetricsScrape((await scrape(gateway)).body)
        #expect(metrics.value("llmgw_circuit_state", ["target": "primary/gpt-4o"]) == 2)
        #expect(metrics.value("llmgw_circuit_state", ["target": "backup/gpt-4o-mini"]) == 0)
        #expect(metrics.types["llmgw_circuit_state"] == "gauge")
        #expect(gateway.cache.totalBytes > 0)
        #expect(metrics.value("llmgw_cache_bytes") == Double(gateway.cache.totalBytes))
        for operation in StoreOperation.allCases {
            #expect(metrics.value("llmgw_store_errors_total", ["op": operation.rawValue]) == 0)
        }
        // The cooldown over: half-open until a probe reports.
        gateway.clock.advance(configuration.circuit.cooldown + .seconds(1))
        metrics = MetricsScrape((await scrape(gateway)).body)
        #expect(metrics.value("llmgw_circuit_state", ["target": "primary/gpt-4o"]) == 1)
    }

    @Test func failedStoreOperationsAreCountedByOperation() async throws {
        var configuration = ChatScript.configuration
        configuration.cache.enabled = true
        let transport = ScriptedTransport()
        transport.enqueue([ChatScript.ok], for: "http://primary")
        let pipeline = RequestPipeline(
            configuration: configuration, keyring: ProviderKeyring(), transport: transport,
            accessLog: MemoryAccessLog(), logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
            state: SharedState(
                keys: InMemoryKeyStore(), admission: InMemoryAdmissionStore(), cache: UnavailableCache()),
            clock: SteppableWallClock())
        let answer = RecordingWriter()
        await pipeline.handle(
            GatewayRequest(
                method: "POST", path: "/v1/chat/completions", headers: [("content-type", "application/json")],
                body: Array(String.chatRequest(model: "smart", text: "a").utf8)),
            writer: answer)
        #expect(answer.status == 200)  // the cache fails open
        let scrape = RecordingWriter()
        await pipeline.handle(GatewayRequest(method: "GET", path: "/metrics", headers: [], body: []), writer: scrape)
        let metrics = MetricsScrape(scrape.body)
        // The lookup, and the size read by this scrape; then the store of the answer.
        #expect(metrics.value("llmgw_store_errors_total", ["op": "cache_read"]) == 2)
        #expect(metrics.value("llmgw_store_errors_total", ["op": "cache_store"]) == 1)
        #expect(metrics.value("llmgw_store_errors_total", ["op": "admit"]) == 0)
        #expect(metrics.value("llmgw_cache_bytes") == nil)
    }

    @Test func timePerOutputTokenIsRecordedForStreamsOfSeveralTokens() async throws {
        let gateway = PipelineHarness(ChatScript.configuration)
        let chunks = [
            Array(#"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":"a b c"}}]}\#n\#n"#.utf8),
            Array(
                #"data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":6,"total_tokens":9}}\#n\#n"#.utf8),
            Array("data: [DONE]\n\n".utf8),
        ]
        gateway.transport.enqueue(
            [.response(headers: [("content-type", "text/event-stream")], chunks: chunks)], for: "http://primary")
        let streamed = await gateway.send(.chatRequest(model: "smart", stream: true, includeUsage: true, text: "d"))
        #expect(streamed.body.hasSuffix("data: [DONE]\n\n"))
        let metrics = MetricsScrape((await scrape(gateway)).body)
        let labels = [
            "gen_ai_operation_name": "chat", "gen_ai_provider_name": "primary", "gen_ai_request_model": "smart",
            "gen_ai_response_model": "gpt-4o",
        ]
        #expect(metrics.value("gen_ai_server_time_per_output_token_seconds_count", labels) == 1)
        #expect((metrics.value("gen_ai_server_time_per_output_token_seconds_sum", labels) ?? -1) >= 0)
        #expect(metrics.types["gen_ai_server_time_per_output_token_seconds"] == "histogram")
    }

    @Test func labelHelpersStayBounded() {
        #expect(MetricLabels.route("/v1/chat/completions") == "/v1/chat/completions")
        #expect(MetricLabels.route("/v1/chat/completions/x") == "other")
        #expect(MetricLabels.status(200) == "200")
        #expect(MetricLabels.status(1000) == "other")
        #expect(LimitScope(scopeID: "key:abc") == .key)
        #expect(LimitScope(scopeID: "team:ml") == .team)
        #expect(LimitScope(scopeID: "nonsense") == nil)
        let failed = AttemptRecord(target: "a/x", status: 503, error: "http_503", milliseconds: 1)
        let reset = AttemptRecord(target: "a/x", status: nil, error: "reset", milliseconds: 1)
        let served = AttemptRecord(target: "b/y", status: 200, error: nil, milliseconds: 1)
        #expect(MetricLabels.attemptResult(failed) == "http_503")
        #expect(MetricLabels.attemptResult(reset) == "transport_error")
        #expect(MetricLabels.failovers([failed, reset, served]) == 1)
        #expect(MetricLabels.failovers([failed, served, failed]) == 2)
    }
}

/// A response cache whose every operation fails (a full disk, a broken state file).
private struct UnavailableCache: ResponseCacheBackend {
    struct Unavailable: Error {}
    func lookup(_ key: CacheKey, nowMillis: Int64) throws -> CachedResponse? { throw Unavailable() }
    func store(_ key: CacheKey, _ response: CachedResponse) throws { throw Unavailable() }
    func remove(_ key: CacheKey) throws -> Bool { throw Unavailable() }
    func sweepExpired(nowMillis: Int64, limit: Int) throws -> Int { throw Unavailable() }
    func usedBytes() throws -> Int { throw Unavailable() }
}

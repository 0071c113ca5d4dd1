import Foundation
import GatewayTesting
import Testing

/// `GET /metrics` of a real `llmgw serve` over its Unix socket, after requests through libcurl to
/// the mock providers. (The Python test set reads the same text with prometheus_client's parser.)
@Suite(.timeLimit(.minutes(2))) struct MetricsEndToEndTests {
    @Test func requestsOverTheSocketAreCountedExactly() async throws {
        try await withGateway { gateway in
            let client = gateway.client
            #expect(try await client.post("/v1/chat/completions", json: .chatRequest(model: "smart")).status == 200)
            #expect(try await client.post("/v1/chat/completions", json: .chatRequest(model: "no-such")).status == 404)
            let failover = try await client.post("/v1/chat/completions", json: .chatRequest(model: "failover"))
            #expect(failover.status == 200)
            let stream = try await client.post(
                "/v1/chat/completions", json: .chatRequest(model: "smart", stream: true, includeUsage: true))
            #expect(stream.text.hasSuffix("data: [DONE]\n\n"))
            // Probes are not requests.
            #expect(try await client.get("/healthz").status == 200)
            #expect(try await client.get("/readyz").status == 200)

            let scrape = try await client.get("/metrics")
            #expect(scrape.status == 200)
            #expect(scrape.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
            let metrics = MetricsScrape(scrape.text)
            let chat = ["route": "/v1/chat/completions"]
            func requests(_ labels: [String: String]) -> Double? {
                metrics.value("llmgw_requests_total", chat.merging(labels) { $1 })
            }
            #expect(requests(["model": "smart", "provider": "mock", "status": "200", "outcome": "ok"]) == 2)
            #expect(requests(["model": "failover", "provider": "mock", "status": "200", "outcome": "ok"]) == 1)
            #expect(requests(["model": "", "provider": "", "status": "404", "outcome": "not_found"]) == 1)
            #expect(metrics.total("llmgw_requests_total") == 4)
            #expect(metrics.value("llmgw_attempts_total", ["target": "down/gpt-4o", "result": "transport_error"]) == 1)
            #expect(metrics.value("llmgw_attempts_total", ["target": "mock/gpt-4o-mini", "result": "ok"]) == 3)
            #expect(metrics.value("llmgw_failovers_total", ["model": "failover"]) == 1)
            #expect(metrics.value("llmgw_failovers_total", ["model": "smart"]) == 0)
            // The cache is off: every request that reached it was a bypass.
            #expect(metrics.value("llmgw_cache_requests_total", ["result": "bypass"]) == 3)
            #expect(metrics.total("gen_ai_server_time_to_first_token_seconds_count") == 1)
            #expect(metrics.value("llmgw_overhead_seconds_count") == 4)
            #expect(metrics.value("llmgw_inflight_requests") == 0)
            #expect(metrics.value("llmgw_active_streams") == 0)
            #expect((metrics.value("process_open_fds") ?? 0) > 0)
            // From the shared LMDB state: every configured target's circuit, the cache's size.
            #expect(metrics.value("llmgw_circuit_state", ["target": "mock/gpt-4o-mini"]) == 0)
            #expect(metrics.value("llmgw_circuit_state", ["target": "down/gpt-4o"]) == 0)  // 1 failure of 5
            #expect(metrics.value("llmgw_cache_bytes") == 0)  // the cache is off
            #expect(metrics.value("llmgw_store_errors_total", ["op": "admit"]) == 0)
            #expect(metrics.total("llmgw_store_errors_total") == 0)
            #expect(!scrape.text.contains(GatewayHarness.providerKey))
            #expect(!scrape.text.contains("no-such"))
        }
    }

    @Test func keysModeServesNoMetricsUnlessEnabled() async throws {
        var options = GatewayHarness.Options()
        options.auth = ["mode: keys"]
        try await withGateway(options) { gateway in
            let metrics = try await gateway.client.get("/metrics")
            let health = try await gateway.client.get("/healthz")
            #expect(metrics.status == 404)
            #expect(health.status == 200)
        }
    }
}

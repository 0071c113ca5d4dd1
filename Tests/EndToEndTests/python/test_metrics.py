"""`GET /metrics` read with the Prometheus project's own parser (prometheus_client): the exposition
parses, carries the frozen families with their types, counts a request exactly once, and never
shows the provider key."""

from prometheus_client.parser import text_string_to_metric_families

from conftest import PROVIDER_KEY

# Family name as the parser reports it (counters without `_total`) -> type.
FAMILIES = {
    "gen_ai_client_operation_duration_seconds": "histogram",
    "gen_ai_client_token_usage": "histogram",
    "llmgw_requests": "counter",
    "llmgw_overhead_seconds": "histogram",
    "llmgw_attempts": "counter",
    "llmgw_failovers": "counter",
    "llmgw_stream_cuts": "counter",
    "llmgw_cache_requests": "counter",
    "llmgw_rate_limited": "counter",
    "llmgw_budget_rejections": "counter",
    "llmgw_cost_usd": "counter",
    "llmgw_circuit_state": "gauge",
    "llmgw_cache_bytes": "gauge",
    "llmgw_store_errors": "counter",
    "llmgw_inflight_requests": "gauge",
    "llmgw_active_streams": "gauge",
    "llmgw_log_lines_dropped": "counter",
    "llmgw_build_info": "gauge",
    "process_resident_memory_bytes": "gauge",
    "process_open_fds": "gauge",
    "process_cpu_seconds": "counter",
    "process_start_time_seconds": "gauge",
}


def scrape(gateway):
    with gateway.http() as http:
        answer = http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return answer.text, {family.name: family for family in text_string_to_metric_families(answer.text)}


def sample(families, family, name, **labels):
    for s in families[family].samples:
        if s.name == name and s.labels == labels:
            return s.value
    return 0.0


def test_metrics_parse_and_count_one_request(gateway):
    with gateway.http() as http:
        # At least one series of every family exists before the scrape that is checked.
        http.post("/v1/chat/completions", json={"model": "smart", "messages": [{"role": "user", "content": "m"}]})
        _, before = scrape(gateway)
        answer = http.post(
            "/v1/chat/completions", json={"model": "smart", "messages": [{"role": "user", "content": "metrics"}]}
        )
        assert answer.status_code == 200
    text, after = scrape(gateway)
    for name, kind in FAMILIES.items():
        assert name in after, f"{name} missing"
        assert after[name].type == kind, f"{name} is a {after[name].type}"
    labels = dict(route="/v1/chat/completions", model="smart", provider="mock", status="200", outcome="ok")
    counted = sample(after, "llmgw_requests", "llmgw_requests_total", **labels)
    assert counted - sample(before, "llmgw_requests", "llmgw_requests_total", **labels) == 1
    assert sample(after, "llmgw_inflight_requests", "llmgw_inflight_requests") == 0
    assert sample(after, "process_resident_memory_bytes", "process_resident_memory_bytes") > 1 << 20
    assert PROVIDER_KEY not in text

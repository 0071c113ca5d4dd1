import Foundation
import GatewayTesting
import Testing
import Yams

/// The promtool of Debian's `prometheus` package, where it is installed.
private let promtool = "/usr/bin/promtool"
private let hasPromtool = FileManager.default.isExecutableFile(atPath: promtool)

private func documented() throws -> DocumentedMetrics {
    try DocumentedMetrics(parsing: try DeployFiles.text("docs/metrics.md"))
}

/// The doc's tables read as the other tests read them, and the PromQL scanner they use.
struct DocumentedMetricsTests {
    @Test func theDocParsesIntoNamesTypesAndLabels() throws {
        let metrics = try documented()
        #expect(metrics.metrics["llmgw_requests_total"]?.type == "counter")
        #expect(metrics.metrics["llmgw_requests_total"]?.labels == ["route", "model", "provider", "status", "outcome"])
        #expect(
            metrics.metrics["gen_ai_client_operation_duration_seconds"]?.labels == [
                "gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "gen_ai_response_model",
                "error_type",
            ])
        #expect(metrics.metrics["gen_ai_client_token_usage"]?.labels.contains("gen_ai_token_type") == true)
        #expect(metrics.metrics["llmgw_cache_requests_total"]?.labels == ["result"])
        #expect(metrics.metrics["llmgw_rate_limited_total"]?.labels == ["scope"])
        #expect(metrics.metrics["llmgw_attempts_total"]?.labels == ["target", "result"])
        #expect(metrics.metrics["llmgw_overhead_seconds"]?.type == "histogram")
        #expect(metrics.metrics["llmgw_overhead_seconds"]?.labels == [])
        #expect(metrics.metrics["process_resident_memory_bytes"]?.type == "gauge")
        #expect(metrics.metrics["process_cpu_seconds_total"]?.type == "counter")
        #expect(metrics.outcomes.count == 12)
        #expect(metrics.outcomes.contains("upstream_error"))
    }

    @Test func theScannerFindsWhatIsWrong() throws {
        let metrics = try documented()
        let good = #"""
            histogram_quantile(0.99, sum by (le, instance) (rate(llmgw_overhead_seconds_bucket{job="x"}[$__rate_interval])))
              / on (instance) group_left sum without (le) (rate(llmgw_requests_total{outcome=~"ok|timeout"}[5m] offset 1h)) > bool 0
            """#
        #expect(metrics.problems(in: good) == [])
        #expect(
            metrics.problems(in: "rate(llmgw_overhead_seconds[5m])") == [
                "llmgw_overhead_seconds is not in docs/metrics.md"
            ])
        #expect(metrics.problems(in: "llmgw_requests_total_bucket") != [])
        #expect(metrics.problems(in: #"llmgw_requests_total{target="a"}"#).count == 1)
        #expect(metrics.problems(in: #"llmgw_requests_total{outcome="fine"}"#).count == 1)
        #expect(metrics.problems(in: "sum by (tenant) (llmgw_requests_total)").count == 1)
        #expect(metrics.problems(in: "sums(llmgw_requests_total)").count == 1)
        #expect(metrics.problems(in: #"{__name__="llmgw_requests_total"}"#).count == 1)
    }
}

/// `deploy/grafana/llmgw.json`: an importable dashboard whose every query names served metrics.
struct GrafanaDashboardTests {
    typealias Object = [String: Any]

    private func dashboard() throws -> Object {
        let data = try Data(contentsOf: DeployFiles.url("deploy/grafana/llmgw.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? Object)
    }

    /// Every panel, those inside collapsed rows too.
    private func panels(_ dashboard: Object) -> [Object] {
        let top = (dashboard["panels"] as? [Any] ?? []).compactMap { $0 as? Object }
        return top + top.flatMap { ($0["panels"] as? [Any] ?? []).compactMap { $0 as? Object } }
    }

    private func variables(_ dashboard: Object) -> [Object] {
        ((dashboard["templating"] as? Object)?["list"] as? [Any] ?? []).compactMap { $0 as? Object }
    }

    /// Every PromQL expression of the panels, with the panel's title.
    private func expressions(_ dashboard: Object) -> [(panel: String, expr: String)] {
        panels(dashboard).flatMap { panel in
            (panel["targets"] as? [Any] ?? []).compactMap { $0 as? Object }.compactMap { target in
                (target["expr"] as? String).map { (panel["title"] as? String ?? "?", $0) }
            }
        }
    }

    /// A template variable's `label_values(SELECTOR, LABEL)`: the selector and the label.
    private func labelValues(_ query: String) -> (selector: String, label: String)? {
        guard query.hasPrefix("label_values("), query.hasSuffix(")"), let comma = query.lastIndex(of: ",") else {
            return nil
        }
        let selector = query[query.index(query.startIndex, offsetBy: 13)..<comma]
        let label = query[query.index(after: comma)..<query.index(before: query.endIndex)]
        return (selector.trimmingCharacters(in: .whitespaces), label.trimmingCharacters(in: .whitespaces))
    }

    @Test func isAnImportableDashboardWithADatasourceVariable() throws {
        let dashboard = try dashboard()
        let schema = try #require(dashboard["schemaVersion"] as? Int)
        #expect((36...41).contains(schema))
        #expect(dashboard["title"] as? String == "llmgw")
        #expect(dashboard["uid"] as? String == "llmgw")
        // An import assigns the id: a fixed one would overwrite another dashboard.
        #expect(dashboard["id"] == nil || dashboard["id"] is NSNull)
        let variables = variables(dashboard)
        let datasource = try #require(variables.first { $0["name"] as? String == "datasource" })
        #expect(datasource["type"] as? String == "datasource")
        #expect(datasource["query"] as? String == "prometheus")
        // instance and model come from label_values over documented metrics and labels.
        let metrics = try documented()
        for name in ["instance", "model"] {
            let variable = try #require(variables.first { $0["name"] as? String == name }, "\(name)")
            #expect(variable["type"] as? String == "query")
            #expect((variable["datasource"] as? Object)?["uid"] as? String == "${datasource}")
            let definition = try #require(variable["definition"] as? String)
            #expect(((variable["query"] as? Object)?["query"] as? String) == definition)
            let (selector, label) = try #require(labelValues(definition), "\(definition)")
            #expect(metrics.problems(in: selector) == [], "\(name): \(selector)")
            let series = try #require(try PromQLNames(parsing: selector).selectors.first).metric
            let metric = try #require(metrics.metric(ofSeries: series))
            #expect(metric.metric.labels.union(DocumentedMetrics.targetLabels).contains(label), "\(definition)")
        }
    }

    @Test func everyPanelHasTargetsOnTheDatasourceVariable() throws {
        let dashboard = try dashboard()
        let panels = panels(dashboard)
        #expect(panels.count >= 20)
        let ids = panels.compactMap { $0["id"] as? Int }
        #expect(ids.count == panels.count && Set(ids).count == ids.count, "every panel has its own id")
        for panel in panels {
            let title = panel["title"] as? String ?? "?"
            #expect(!title.isEmpty)
            let grid = try #require(panel["gridPos"] as? Object, "\(title)")
            let x = grid["x"] as? Int ?? -1
            let width = grid["w"] as? Int ?? 0
            #expect(x >= 0 && width > 0 && x + width <= 24 && (grid["h"] as? Int ?? 0) > 0, "\(title): \(grid)")
            if panel["type"] as? String == "row" { continue }
            #expect((panel["datasource"] as? Object)?["uid"] as? String == "${datasource}", "\(title)")
            let targets = (panel["targets"] as? [Any] ?? []).compactMap { $0 as? Object }
            #expect(!targets.isEmpty, "\(title) has no targets")
            let references = targets.compactMap { $0["refId"] as? String }
            #expect(references.count == targets.count && Set(references).count == references.count, "\(title)")
            for target in targets {
                let expr = target["expr"] as? String ?? ""
                #expect(!expr.isEmpty, "\(title): a target without expr")
                #expect((target["datasource"] as? Object)?["uid"] as? String == "${datasource}", "\(title)")
            }
        }
    }

    @Test func everyExpressionNamesDocumentedMetricsAndLabels() throws {
        let metrics = try documented()
        let expressions = try expressions(dashboard())
        #expect(!expressions.isEmpty)
        for (panel, expr) in expressions {
            #expect(metrics.problems(in: expr) == [], "\(panel): \(expr)")
        }
    }

    @Test func coversEveryServedMetric() throws {
        let metrics = try documented()
        var used: Set<String> = []
        for (_, expr) in try expressions(dashboard()) {
            for selector in try PromQLNames(parsing: expr).selectors {
                if let metric = metrics.metric(ofSeries: selector.metric) { used.insert(metric.name) }
            }
        }
        let missing = Set(metrics.metrics.keys).subtracting(used).subtracting(["up"])
        #expect(missing.isEmpty, "no panel shows \(missing.sorted()): add one to deploy/grafana/llmgw.json")
    }

    @Test func theCircuitStatePanelNamesTheStates() throws {
        let panel = try #require(
            panels(try dashboard()).first { panel in
                (panel["targets"] as? [Any] ?? []).contains {
                    (($0 as? Object)?["expr"] as? String)?.contains("llmgw_circuit_state") == true
                } && panel["type"] as? String == "state-timeline"
            })
        let defaults = try #require((panel["fieldConfig"] as? Object)?["defaults"] as? Object)
        let mappings = (defaults["mappings"] as? [Any] ?? []).compactMap { $0 as? Object }
        let options = try #require(mappings.first { $0["type"] as? String == "value" }?["options"] as? Object)
        #expect((options["0"] as? Object)?["text"] as? String == "closed")
        #expect((options["1"] as? Object)?["text"] as? String == "half-open")
        #expect((options["2"] as? Object)?["text"] as? String == "open")
    }

    /// promtool parses every expression (as recording rules, with Grafana's variables replaced
    /// by what Grafana would send).
    @Test(.enabled(if: hasPromtool)) func promtoolParsesEveryExpression() async throws {
        let expressions = try expressions(dashboard())
        var rules: [[String: String]] = []
        for (offset, entry) in expressions.enumerated() {
            let expr = entry.expr.replacingOccurrences(of: "$__rate_interval", with: "2m")
                .replacingOccurrences(of: "$__range", with: "6h").replacingOccurrences(of: "$instance", with: ".*")
                .replacingOccurrences(of: "$model", with: ".*")
            #expect(!expr.contains("$"), "\(entry.panel): a variable left in \(expr)")
            rules.append(["record": "llmgw:dashboard_\(offset)", "expr": expr])
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-dashboard-\(UUID().uuidString.prefix(8)).yaml")
        defer { try? FileManager.default.removeItem(at: file) }
        try Yams.dump(object: ["groups": [["name": "dashboard", "rules": rules]]]).write(
            to: file, atomically: true, encoding: .utf8)
        let result = try await DeployFiles.run(promtool, ["check", "rules", file.path])
        #expect(result.status == 0, "\(result.output)")
    }
}

/// `deploy/prometheus/alerts.yaml`: Prometheus rule groups of alerts on served metrics, each with
/// a duration, a severity and text for whoever is paged.
struct PrometheusAlertsTests {
    typealias Object = [String: Any]

    static let path = "deploy/prometheus/alerts.yaml"

    private func rules() throws -> [Object] {
        let root = try #require(try Yams.load(yaml: try DeployFiles.text(Self.path)) as? Object)
        #expect(Set(root.keys) == ["groups"])
        let groups = try #require(root["groups"] as? [Any]).compactMap { $0 as? Object }
        #expect(!groups.isEmpty)
        var rules: [Object] = []
        for group in groups {
            #expect((group["name"] as? String)?.isEmpty == false)
            let groupRules = (group["rules"] as? [Any] ?? []).compactMap { $0 as? Object }
            #expect(!groupRules.isEmpty, "group \(group["name"] ?? "?") has no rules")
            rules += groupRules
        }
        return rules
    }

    @Test func everyRuleIsAnAlertWithDurationSeverityAndText() throws {
        let rules = try rules()
        var names: Set<String> = []
        for rule in rules {
            let name = try #require(rule["alert"] as? String, "\(rule)")
            #expect(names.insert(name).inserted, "\(name) twice")
            #expect(name.hasPrefix("LLMGW") && !name.contains(" "), "\(name)")
            #expect((rule["expr"] as? String)?.isEmpty == false, "\(name)")
            let duration = try #require(rule["for"] as? String, "\(name): no for:")
            #expect(duration.range(of: #"^[0-9]+[smh]$"#, options: .regularExpression) != nil, "\(name): \(duration)")
            let labels = try #require(rule["labels"] as? Object, "\(name)")
            #expect(["critical", "warning", "info"].contains(labels["severity"] as? String ?? ""), "\(name)")
            let annotations = try #require(rule["annotations"] as? Object, "\(name)")
            for key in ["summary", "description"] {
                #expect((annotations[key] as? String)?.isEmpty == false, "\(name): no \(key)")
            }
        }
    }

    @Test func everyExpressionNamesDocumentedMetricsAndLabels() throws {
        let metrics = try documented()
        for rule in try rules() {
            let expr = rule["expr"] as? String ?? ""
            #expect(metrics.problems(in: expr) == [], "\(rule["alert"] ?? "?"): \(expr)")
        }
    }

    /// `{{ $labels.x }}` in the text names a label the alert has: one the expression keeps (its
    /// `by` labels when it aggregates, else its series' labels).
    @Test func theAnnotationsUseLabelsTheAlertHas() throws {
        let metrics = try documented()
        for rule in try rules() {
            let name = rule["alert"] as? String ?? "?"
            let query = try PromQLNames(parsing: rule["expr"] as? String ?? "")
            let kept =
                query.groupingLabels.isEmpty
                ? query.selectors.reduce(DocumentedMetrics.targetLabels) {
                    $0.union(metrics.metric(ofSeries: $1.metric)?.metric.labels ?? [])
                } : query.groupingLabels
            for text in (rule["annotations"] as? Object ?? [:]).values.compactMap({ $0 as? String }) {
                for match in text.matches(of: /\$labels\.([a-z_]+)/) {
                    #expect(kept.contains(String(match.1)), "\(name): $labels.\(match.1) is not a label of the alert")
                }
            }
        }
    }

    @Test func theAlertsThatMatterAreThere() throws {
        let series = try rules().map { rule in
            try PromQLNames(parsing: rule["expr"] as? String ?? "").selectors.map(\.metric)
        }
        for metric in [
            "up", "llmgw_requests_total", "llmgw_circuit_state", "llmgw_budget_rejections_total",
            "llmgw_log_lines_dropped_total", "llmgw_overhead_seconds_bucket",
        ] {
            #expect(series.contains { $0.contains(metric) }, "no alert on \(metric)")
        }
    }

    @Test(.enabled(if: hasPromtool)) func promtoolChecksTheRules() async throws {
        let result = try await DeployFiles.run(promtool, ["check", "rules", DeployFiles.url(Self.path).path])
        #expect(result.status == 0, "\(result.output)")
    }

    /// `deploy/prometheus/alerts.test.yaml`: the alerts fire on made-up series, and stay quiet
    /// when all is well.
    @Test(.enabled(if: hasPromtool)) func promtoolUnitTestsTheAlerts() async throws {
        let result = try await DeployFiles.run(
            promtool, ["test", "rules", DeployFiles.url("deploy/prometheus/alerts.test.yaml").path])
        #expect(result.status == 0, "\(result.output)")
    }
}

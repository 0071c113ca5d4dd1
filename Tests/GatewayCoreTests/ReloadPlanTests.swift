import GatewayCore
import Testing

/// What a reload applies, keeps and reports.
struct ReloadPlanTests {
    private static let running = """
        listen: { socket: /tmp/a.sock }
        state: { path: /tmp/state }
        providers:
          openai: { kind: openai, api_key: "env:OPENAI_API_KEY" }
          local: { kind: openai, base_url: "http://127.0.0.1:8080/v1" }
        models:
          - name: fast
            targets: [{ provider: openai, model: gpt-4o-mini }]
          - name: big
            targets: [{ provider: openai, model: gpt-4o }]
        """

    private func parse(_ yaml: String) throws -> GatewayConfiguration {
        try GatewayConfiguration.parse(yaml: yaml, source: "test.yaml")
    }

    @Test func modelsAddedRemovedAndChangedAreNamed() throws {
        let running = try parse(Self.running)
        let loaded = try parse(
            Self.running.replacingOccurrences(of: "name: big", with: "name: huge")
                .replacingOccurrences(of: "model: gpt-4o-mini", with: "model: gpt-4.1-mini")
                + "\n  - name: local\n    targets: [{ provider: local, model: llama }]")
        let plan = ReloadPlan(running: running, loaded: loaded)
        #expect(plan.addedModels == ["huge", "local"])
        #expect(plan.removedModels == ["big"])
        #expect(plan.changedModels == ["fast"])
        #expect(plan.changedProviders.isEmpty)
        #expect(plan.restartRequired.isEmpty)
        #expect(plan.effective == loaded)
    }

    @Test func settingsBoundAtStartKeepTheirRunningValues() throws {
        let running = try parse(Self.running)
        let loaded = try parse(
            Self.running.replacingOccurrences(of: "/tmp/a.sock", with: "/tmp/b.sock")
                .replacingOccurrences(of: "/tmp/state", with: "/tmp/other")
                .replacingOccurrences(of: "8080", with: "9090")
                + "\ncache: { max_bytes: 1MiB, ttl: 5m }\nlog: { level: debug }\n")
        let plan = ReloadPlan(running: running, loaded: loaded)
        #expect(plan.restartRequired == ["listen", "state", "log", "cache.max_bytes"])
        #expect(plan.effective.listen == running.listen)
        #expect(plan.effective.state == running.state)
        #expect(plan.effective.log == running.log)
        #expect(plan.effective.cache.maxBytes == running.cache.maxBytes)
        // What a request uses is taken from the new file.
        #expect(plan.effective.cache.ttl == loaded.cache.ttl)
        #expect(plan.effective.providers == loaded.providers)
        #expect(plan.changedProviders == ["local"])
    }

    @Test func anUnchangedFileChangesNothing() throws {
        let running = try parse(Self.running)
        let plan = ReloadPlan(running: running, loaded: try parse(Self.running))
        #expect(plan.effective == running)
        #expect(plan.addedModels.isEmpty && plan.removedModels.isEmpty && plan.changedModels.isEmpty)
        #expect(plan.restartRequired.isEmpty && plan.changedProviders.isEmpty)
    }
}

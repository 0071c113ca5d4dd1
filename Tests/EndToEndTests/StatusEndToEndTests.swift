import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `llmgw status` over the state of real sidecars: who is alive, a sidecar killed with SIGKILL
/// shown stale and then swept, circuits, today's spend and budgets, no secret in the output, a
/// stopped writer that cannot block it; and `llmgw --version`.
@Suite(.serialized, .timeLimit(.minutes(3))) struct StatusEndToEndTests {
    /// `llmgw status --json` (through the group, so in a namespace of its own when it is namespaced).
    private func status(_ group: SidecarGroup) throws -> [String: Any] {
        let output = try group.cli(["status", "--json"])
        return try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
    }

    private func list(_ document: [String: Any], _ name: String) -> [[String: Any]] {
        document[name] as? [[String: Any]] ?? []
    }

    private func pids(_ document: [String: Any], _ name: String) -> [Int] {
        list(document, name).compactMap { $0["pid"] as? Int }
    }

    private func waitForExit(_ process: ChildProcess) async {
        for _ in 0..<400 where process.isRunning { try? await Task.sleep(for: .milliseconds(25)) }
    }

    private func chat(_ group: SidecarGroup, _ socket: Int, model: String, key: String) async throws -> Int {
        try await group.client(socket).post(
            "/v1/chat/completions", json: .chatRequest(model: model), headers: [("authorization", "Bearer \(key)")]
        ).status
    }

    @Test func twoSidecarsTheirCircuitsAndSpendAndAKilledOneIsStaleThenSwept() async throws {
        try await withSidecars(count: 2) { group in
            _ = try group.cli(["teams", "set", "eng", "--budget-usd", "5", "--budget-period", "month"])
            let alice = try group.cli([
                "keys", "create", "--name", "alice", "--budget-usd", "1", "--budget-period", "day",
            ])
            let bob = try group.cli(["keys", "create", "--name", "bob", "--team", "eng"])
            // No budget: a budgeted key skips the unpriced failing target, and this one must trip it.
            let carol = try group.cli(["keys", "create", "--name", "carol"])
            #expect(try await chat(group, 0, model: "smart", key: alice) == 200)
            #expect(try await chat(group, 1, model: "smart", key: bob) == 200)
            #expect(try await chat(group, 1, model: "smart", key: bob) == 200)
            #expect(try await chat(group, 0, model: "breaking", key: carol) == 200)  // 2 failures: open

            let document = try status(group)
            let sidecarPIDs = group.processes.map { Int($0.processIdentifier) }
            #expect(pids(document, "sidecars") == sidecarPIDs.sorted())
            #expect(pids(document, "stale_sidecars").isEmpty)
            let sockets = Set(list(document, "sidecars").compactMap { $0["socket"] as? String })
            #expect(sockets == [group.socketPath(0), group.socketPath(1)])
            let versionLine = try await runLLMGW(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            for sidecar in list(document, "sidecars") {
                #expect("llmgw \(sidecar["version"] as? String ?? "?")" == versionLine)
            }
            let configs = Set(list(document, "sidecars").compactMap { $0["config"] as? String })
            #expect(configs == [group.configPath(0), group.configPath(1)])

            let circuits = Dictionary(
                uniqueKeysWithValues: list(document, "circuits").compactMap { circuit in
                    (circuit["target"] as? String).map { ($0, circuit) }
                })
            #expect(circuits["mock/gpt-4o-mini"]?["state"] as? String == "closed")
            let tripped = try #require(circuits["mock/gpt-4o#status=500"], "\(circuits.keys)")
            #expect(tripped["state"] as? String == "open")
            #expect(tripped["failures"] as? Int == 2)
            #expect(tripped["open_until"] is String)

            let today = try #require(document["today"] as? [String: Any])
            let callers = Dictionary(
                uniqueKeysWithValues: list(today, "callers").compactMap { caller in
                    (caller["name"] as? String).map { ($0, caller) }
                })
            #expect(callers["alice"]?["requests"] as? Int == 1)
            #expect(callers["bob"]?["requests"] as? Int == 2)
            #expect(callers["bob"]?["team"] as? String == "eng")
            #expect(callers["carol"]?["requests"] as? Int == 1)
            #expect((callers["alice"]?["cost_usd"] as? Double ?? 0) > 0)
            #expect((callers["alice"]?["caller"] as? String)?.hasPrefix("key:") == true)
            let teams = list(today, "teams")
            #expect(teams.count == 1)
            #expect(teams.first?["team"] as? String == "eng")
            #expect(teams.first?["requests"] as? Int == 2)
            let budgets = Dictionary(
                uniqueKeysWithValues: list(document, "budgets").compactMap { line in
                    (line["name"] as? String).map { ($0, line) }
                })
            #expect(budgets["alice"]?["budget_usd"] as? Double == 1)
            #expect(budgets["alice"]?["period"] as? String == "day")
            #expect((budgets["alice"]?["spent_usd"] as? Double ?? 0) > 0)
            #expect(budgets["eng"]?["scope"] as? String == "team:eng")
            #expect(budgets["eng"]?["budget_usd"] as? Double == 5)
            #expect((budgets["eng"]?["spent_usd"] as? Double ?? 0) > 0)
            #expect(budgets["bob"] == nil && budgets["carol"] == nil, "keys without a budget have no line")

            // No secret in either form: the virtual keys (or their secret part) nor the provider key.
            let text = try group.cli(["status"])
            for output in [text, try group.cli(["status", "--json"])] {
                for key in [alice, bob, carol] {
                    #expect(!output.contains(key))
                    #expect(!output.contains(String(key.suffix(32))))
                }
                #expect(!output.contains(GatewayBinary.providerKey))
            }
            #expect(text.contains("sidecars alive: 2"))
            #expect(text.contains("mock/gpt-4o#status=500"))

            // kill -9 once sidecar 0's first sweep (1 s after its start) is over: the entry stays behind,
            // marked stale, until its next sweep (10 s later) deletes it.
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let started = list(document, "sidecars").compactMap {
                ($0["started_at"] as? String).flatMap(formatter.date)
            }
            #expect(started.count == 2)
            let firstSweepOver = (started.max() ?? Date()).addingTimeInterval(2)
            while Date() < firstSweepOver { try await Task.sleep(for: .milliseconds(50)) }
            let victim = group.processes[1]
            kill(victim.processIdentifier, SIGKILL)
            await waitForExit(victim)
            let afterKill = try status(group)
            #expect(pids(afterKill, "sidecars") == [sidecarPIDs[0]])
            #expect(pids(afterKill, "stale_sidecars") == [sidecarPIDs[1]])
            #expect(try group.cli(["status"]).contains("sidecars alive: 1"))
            var swept = false
            for _ in 0..<60 where !swept {
                try await Task.sleep(for: .milliseconds(250))
                swept = pids(try status(group), "stale_sidecars").isEmpty
            }
            #expect(swept, "the sweep left the stale entry")
            #expect(group.allOutput().contains("removed stale sidecar entries"))

            // A clean stop unregisters.
            group.terminate(group.processes[0])
            await waitForExit(group.processes[0])
            let afterStop = try status(group)
            #expect(pids(afterStop, "sidecars").isEmpty)
            #expect(pids(afterStop, "stale_sidecars").isEmpty)
        }
    }

    @Test func aSidecarStoppedInsideAWriteTransactionDoesNotBlockStatus() async throws {
        try await withSidecars(count: 1) { group in
            let marker = group.directory.appendingPathComponent("holder.out")
            _ = FileManager.default.createFile(atPath: marker.path, contents: nil)
            // Stopped below; the group kills it on every path.
            let holder = try group.launch(
                ["debug", "hold-write-lock", "--seconds", "30", "--config", group.configPath(0)], output: marker)
            for _ in 0..<200 where !((try? String(contentsOf: marker, encoding: .utf8)) ?? "").contains("holding") {
                try await Task.sleep(for: .milliseconds(25))
            }
            kill(holder.processIdentifier, SIGSTOP)
            let started = ContinuousClock.now
            let result = try await runLLMGW(["status", "--json", "--config", group.configPath(0)])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(ContinuousClock.now - started < .seconds(5))
            let document = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
            #expect(pids(document ?? [:], "sidecars") == [Int(group.processes[0].processIdentifier)])
        }
    }

    @Test func namespacedSidecarsAreToldApartAndAKilledPodIsNotAlive() async throws {
        try #require(getuid() == 0, "unshare --pid needs root (CI runs as root)")
        try await withSidecars(count: 2, namespaced: true) { group in
            let document = try status(group)
            // Both are PID 1 of their namespace; the second continued in a fresh PID.
            let alive = pids(document, "sidecars")
            #expect(alive.count == 2)
            #expect(Set(alive).count == 2)
            let namespaces = Set(list(document, "sidecars").compactMap { $0["pid_namespace"] as? String })
            #expect(namespaces.count == 2, "\(namespaces)")
            let victimSocket = group.socketPath(1)
            let victimPID = try #require(
                list(document, "sidecars").first { $0["socket"] as? String == victimSocket }?["pid"] as? Int)
            kill(group.processes[1].processIdentifier, SIGKILL)  // the whole namespace goes
            await waitForExit(group.processes[1])
            let afterKill = try status(group)
            #expect(!pids(afterKill, "sidecars").contains(victimPID))
            #expect(pids(afterKill, "sidecars").count == 1)
        }
    }

    @Test func theVersionIsTheOneMetricsReport() async throws {
        let line = try await runLLMGW(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try await withGateway { gateway in
            let scrape = MetricsScrape(try await gateway.client.get("/metrics").text)
            let versions = scrape.series("llmgw_build_info").compactMap { $0.labels["version"] }
            #expect(versions.count == 1)
            #expect(versions.map { "llmgw \($0)" } == [line])
        }
    }

    @Test func versionAndAMissingState() async throws {
        let version = try await runLLMGW(["--version"])
        #expect(version.status == 0)
        let line = version.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.range(of: #"^llmgw [0-9]+\.[0-9]+\.[0-9]+"#, options: .regularExpression) != nil, "\(line)")
        #expect(try await runLLMGW(["version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines) == line)

        let missing = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-nostate-\(UUID().uuidString.prefix(8))"
        ).path
        let result = try await runLLMGW(["status", "--state", missing])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot read the shared state at \(missing)"), "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: missing), "status created the state directory")
    }
}

import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// SIGHUP and `llmgw reload` on a real `llmgw serve`: the config file is re-read; a good one is
/// served from the next request on, a broken one is rejected and the running one keeps serving, and
/// a stream under way finishes on the configuration it started with.
@Suite(.timeLimit(.minutes(2))) struct ReloadEndToEndTests {
    @Test func llmgwReloadAddsAndRemovesModels() async throws {
        try await withGateway { gateway in
            let client = gateway.client
            #expect(try await client.post("/v1/chat/completions", json: .chatRequest(model: "smart")).status == 200)
            try rewriteConfig(gateway) { $0.replacingOccurrences(of: "- name: smart\n", with: "- name: smarter\n") }

            let reload = try await runLLMGW(["reload", "--config", gateway.configPath])
            #expect(reload.status == 0, "\(reload.stderr)")
            #expect(reload.stdout == "sent SIGHUP to pid \(gateway.process.processIdentifier)\n")
            let line = try await waitForLogLine(gateway, message: "configuration reloaded")
            #expect(line["models_added"] as? [String] == ["smarter"])
            #expect(line["models_removed"] as? [String] == ["smart"])
            #expect(line["restart_required"] == nil)
            #expect((line["env"] as? String)?.contains("environment the process started with") == true)

            let added = try await client.post("/v1/chat/completions", json: .chatRequest(model: "smarter"))
            #expect(added.status == 200, "\(added.text)")
            let removed = try await client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
            #expect(removed.status == 404)
            #expect(try removed.json()["error"] != nil)
            let models = try await client.get("/v1/models")
            #expect(models.text.contains("\"smarter\"") && !models.text.contains("\"smart\""))
        }
    }

    @Test func aBrokenFileIsRejectedAndTheRunningConfigKeepsServing() async throws {
        try await withGateway { gateway in
            let good = try String(contentsOfFile: gateway.configPath, encoding: .utf8)
            // A syntax error, then a file that parses but names an unknown provider.
            for broken in [
                good + "\n  - name: [unclosed\n",
                good.replacingOccurrences(
                    of: "provider: mock, model: gpt-4o-mini }]\n  - name: claude\n",
                    with: "provider: nowhere, model: gpt-4o-mini }]\n  - name: claude\n"),
            ] {
                try broken.write(toFile: gateway.configPath, atomically: true, encoding: .utf8)
                let before = gateway.logLines().count
                gateway.signal(SIGHUP)
                let line = try await waitForLogLine(gateway, message: "reload rejected", after: before)
                #expect(line["level"] as? String == "error")
                #expect((line["errors"] as? String)?.isEmpty == false)
                let answer = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
                #expect(answer.status == 200)
            }
            #expect(!gateway.stdout().contains(GatewayHarness.providerKey))
        }
    }

    @Test func aStreamUnderWayFinishesOnItsConfiguration() async throws {
        try await withGateway { gateway in
            let body = Array(String.chatRequest(model: "slow", stream: true).utf8)
            let connection = try RawConnection(.unix(gateway.socketPath))
            defer { connection.close() }
            try connection.write(
                HTTPClient.requestBytes(
                    "POST", "/v1/chat/completions", headers: [("content-type", "application/json")], body: body))
            let first = try await blocking { try connection.read() }
            #expect(String(decoding: first, as: UTF8.self).contains("200 OK"))

            // Remove the model the stream uses, and point `smart` at a failing target.
            try rewriteConfig(gateway) {
                $0.replacingOccurrences(of: "- name: slow\n", with: "- name: slow-renamed\n")
                    .replacingOccurrences(
                        of: "- name: smart\n    targets: [{ provider: mock, model: gpt-4o-mini }]",
                        with: "- name: smart\n    targets: [{ provider: mock, model: \"gpt-4o#status=500\" }]")
            }
            gateway.signal(SIGHUP)
            let line = try await waitForLogLine(gateway, message: "configuration reloaded")
            #expect(line["models_changed"] as? [String] == ["smart"])

            let rest = try await blocking { try connection.readToEnd(timeoutSeconds: 20) }
            let text = String(decoding: first + rest, as: UTF8.self)
            #expect(text.contains("data: [DONE]"), "\(text.suffix(300))")
            #expect(!text.contains("\"error\""))
            let gone = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "slow"))
            #expect(gone.status == 404)
            let failing = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
            #expect(failing.status >= 500)
        }
    }

    @Test func settingsBoundAtStartAreKeptAndNamed() async throws {
        try await withGateway { gateway in
            try rewriteConfig(gateway) {
                $0.replacingOccurrences(of: "max_body_bytes: 1MiB", with: "max_body_bytes: 2MiB")
                    .replacingOccurrences(of: "level: info", with: "level: debug")
            }
            gateway.signal(SIGHUP)
            let line = try await waitForLogLine(gateway, message: "configuration reloaded")
            #expect(line["level"] as? String == "warning")
            #expect(line["restart_required"] as? [String] == ["listen", "log"])
            #expect(
                try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart")).status == 200)
        }
    }

    @Test func reloadWithoutARunningInstanceFails() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("reload-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("unused.yaml").path
        try "models: []\n".write(toFile: config, atomically: true, encoding: .utf8)
        let reload = try await runLLMGW(["reload", "--config", config])
        #expect(reload.status == 1)
        #expect(reload.stderr.contains("no `llmgw serve` for \(config)"))
    }

    private func rewriteConfig(_ gateway: GatewayHarness, _ change: (String) -> String) throws {
        let config = try String(contentsOfFile: gateway.configPath, encoding: .utf8)
        let changed = change(config)
        #expect(changed != config, "the test's edit matched nothing")
        try changed.write(toFile: gateway.configPath, atomically: true, encoding: .utf8)
    }

    /// The first log line whose `msg` starts with `message` among the lines after the first `after`.
    private func waitForLogLine(
        _ gateway: GatewayHarness, message: String, after: Int = 0
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let line = gateway.logLines().dropFirst(after).first(where: {
                ($0["msg"] as? String)?.hasPrefix(message) == true
            }) {
                return line
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("no log line \"\(message)\" in \(gateway.stdout().suffix(2000))")
        throw CancellationError()
    }
}

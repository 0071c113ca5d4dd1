import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `callers:` on a real `llmgw serve`: a request over the Unix socket is attributed to the test
/// process's uid (SO_PEERCRED), and that caller's limits and allowed models apply.
@Suite(.timeLimit(.minutes(2))) struct PeerCallerEndToEndTests {
    private static func options(mode: String) -> GatewayHarness.Options {
        var options = GatewayHarness.Options()
        options.auth = ["mode: \(mode)"]
        // The test process by its user name (resolved in /etc/passwd) and, as a second caller that
        // never matches first, by its primary group.
        let user = getpwuid(getuid()).map { String(cString: $0.pointee.pw_name) } ?? "\(getuid())"
        options.sections = """
            callers:
              - { name: tests, user: "\(user)", rpm: 2, budget_usd: 5, models: [smart, claude] }
              - { name: by-group, gid: \(getgid()) }
            """
        return options
    }

    @Test func theTestProcessIsItsDeclaredCallerWithItsLimitsAndModels() async throws {
        try await withGateway(Self.options(mode: "peer")) { gateway in
            let client = gateway.client
            let first = try await client.post(
                "/v1/chat/completions", json: .chatRequest(model: "smart"), headers: [("x-request-id", "peer-1")])
            #expect(first.status == 200)
            #expect(first.header("x-ratelimit-limit-requests") == "2")
            let line = await gateway.accessLines(requestID: "peer-1").first
            #expect(line?["caller"] as? String == "peer:tests")

            let forbidden = try await client.post("/v1/chat/completions", json: .chatRequest(model: "gemini"))
            #expect(forbidden.status == 403)
            #expect(forbidden.text.contains("This caller is not allowed to use the model `gemini`"))
            #expect(try await client.post("/v1/chat/completions", json: .chatRequest(model: "claude")).status == 200)
            let limited = try await client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
            #expect(limited.status == 429)
            #expect(limited.text.contains("caller:tests"))

            let usage = try await runLLMGW(["usage", "--config", gateway.configPath])
            #expect(usage.stdout.contains("peer:tests"), "\(usage.stdout)")
            // `llmgw status` shows the caller's spend and its budget from the config.
            let status = try await runLLMGW(["status", "--json", "--config", gateway.configPath])
            let report = try #require(
                try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            let budgets = try #require(report["budgets"] as? [[String: Any]])
            let budget = try #require(budgets.first { $0["scope"] as? String == "caller:tests" })
            #expect((budget["spent_usd"] as? Double ?? 0) > 0)
        }
    }

    @Test func keysOrPeerServesTheDeclaredCallerWithoutAKey() async throws {
        try await withGateway(Self.options(mode: "keys_or_peer")) { gateway in
            let bare = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
            #expect(bare.status == 200)
            let wrongKey = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "smart"),
                headers: [("authorization", "Bearer sk-llmgw-aaaaaaaaaaaa-nope")])
            #expect(wrongKey.status == 401)
        }
    }
}

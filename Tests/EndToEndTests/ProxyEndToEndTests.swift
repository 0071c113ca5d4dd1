import Foundation
import GatewayTesting
import MockProvider
import Testing

/// The environment cannot redirect provider traffic, and an explicit `proxy:` is tunnelled so the
/// status a client sees is the provider's, never the proxy's `200 Connection established`.
@Suite(.timeLimit(.minutes(2))) struct ProxyEndToEndTests {
    static func proxyEnvironment(_ url: String) -> [String: String] {
        var environment = ["LLMGW_E2E_KEY": GatewayBinary.providerKey]
        for name in ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"] {
            environment[name] = url
        }
        return environment
    }

    /// Starts a mock and a gateway whose environment points every proxy variable at `hijacker`
    /// (`configuration(mockBaseURL)` follows its `listen:` and `state:`), runs `body`, then stops
    /// the gateway, the mock and `proxies` on every path.
    private func withProxiedGateway(
        environment hijacker: LoopbackProxy,
        stopping proxies: [LoopbackProxy],
        _ configuration: @escaping (_ mockBaseURL: String) -> String,
        _ body: (GatewayProcess) async throws -> Void
    ) async throws {
        try await withCleanup {
            try await withProviderMock { mock in
                try await withGatewayProcess(environment: Self.proxyEnvironment(hijacker.url)) { directory, socket in
                    """
                    listen: { socket: \(socket) }
                    state: { path: \(directory.path)/state }
                    """ + "\n" + configuration(mock.baseURL)
                } _: { gateway in
                    try await body(gateway)
                }
            }
        } cleanup: {
            for proxy in proxies { proxy.stop() }
        }
    }

    @Test func environmentProxiesAreIgnored() async throws {
        let hijacker = try LoopbackProxy()
        try await withProxiedGateway(environment: hijacker, stopping: [hijacker]) { mockBaseURL in
            """
            providers:
              mock: { kind: openai, base_url: "\(mockBaseURL)", api_key: "env:LLMGW_E2E_KEY" }
            models:
              - name: smart
                targets: [{ provider: mock, model: gpt-4o-mini }]
            """
        } _: { gateway in
            let response = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
            #expect(response.status == 200)
            #expect(!response.text.contains("hijacked"))
            #expect(try response.json()["object"] as? String == "chat.completion")
            #expect(hijacker.server.connections == 0, "libcurl used a proxy from the environment")
        }
    }

    @Test func anExplicitProxyTunnelsAndTheProviderStatusWins() async throws {
        let proxy = try LoopbackProxy()
        let hijacker = try LoopbackProxy()
        try await withProxiedGateway(environment: hijacker, stopping: [proxy, hijacker]) { mockBaseURL in
            """
            retry: { attempts_per_target: 1 }
            providers:
              viaproxy: { kind: openai, base_url: "\(mockBaseURL)", api_key: "env:LLMGW_E2E_KEY", proxy: "\(proxy.url)" }
            models:
              - name: smart
                targets: [{ provider: viaproxy, model: gpt-4o-mini }]
              - name: broken
                targets: [{ provider: viaproxy, model: "gpt-4o#status=500" }]
              - name: missing
                targets: [{ provider: viaproxy, model: "gpt-4o#status=404" }]
            """
        } _: { gateway in
            let ok = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
            #expect(ok.status == 200)
            #expect(try ok.json()["object"] as? String == "chat.completion")
            #expect(ok.header("x-proxy-agent") == nil)
            let stream = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "smart", stream: true))
            #expect(stream.status == 200)
            #expect(stream.text.contains("data: [DONE]"))
            // Behind CONNECT, the proxy's 200 must not be taken for the provider's answer.
            let broken = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "broken"))
            #expect(broken.status == 502)
            #expect(broken.text.contains("HTTP 500"))
            let missing = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "missing"))
            #expect(missing.status == 404)
            #expect(proxy.tunnelCount >= 1)
            #expect(proxy.forgedCount == 0, "a request went to the proxy in absolute form, not tunnelled")
            #expect(hijacker.server.connections == 0)
        }
    }
}

/// `llmgw check` on configurations that load but deserve a warning.
@Suite struct CheckCommandEndToEndTests {
    @Test func warnsAboutAKeySentOverPlainHTTPToAnotherHost() async throws {
        try await withGatewayProcess { directory, socket in
            """
            listen: { socket: \(socket) }
            state: { path: \(directory.path)/state }
            providers:
              remote: { kind: openai, base_url: "http://llm.internal.example:8000/v1", api_key: "env:LLMGW_E2E_KEY" }
              local: { kind: openai, base_url: "http://127.0.0.1:8000/v1", api_key: "env:LLMGW_E2E_KEY" }
              v6: { kind: openai, base_url: "http://[::1]:8000/v1", api_key: "env:LLMGW_E2E_KEY" }
              keyless: { kind: openai, base_url: "http://10.0.0.5:8000/v1" }
              tls: { kind: openai, base_url: "https://api.example.com/v1", api_key: "env:LLMGW_E2E_KEY" }
            models:
              - name: smart
                targets: [{ provider: remote, model: m }]
            """
        } _: { gateway in
            let result = try await gateway.cli(["check"])
            #expect(result.status == 0)
            #expect(
                result.stderr.contains("providers.remote: api_key is sent over plain http:// to llm.internal.example"))
            for name in ["local", "v6", "keyless", "tls"] { #expect(!result.stderr.contains("providers.\(name):")) }
            #expect(!result.stderr.contains(GatewayBinary.providerKey))
        }
    }
}

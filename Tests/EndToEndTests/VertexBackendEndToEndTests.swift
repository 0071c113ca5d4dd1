import Foundation
import GatewayTesting
import MockProvider
import Testing

/// OpenAI- and Anthropic-dialect clients served by `kind: vertex` providers (the strict Vertex mock):
/// Gemini and Claude models, service-account and metadata-server tokens, refresh, failover.
@Suite(.timeLimit(.minutes(3))) struct VertexBackendEndToEndTests {
    static let account = Result { try VertexMockServiceAccount.generate() }

    struct Fixture {
        let gateway: GatewayProcess
        /// The Vertex mock: model paths, token endpoint, metadata server.
        let vertex: MockProviderServer
        /// A second Vertex mock whose token endpoint always fails.
        let broken: MockProviderServer

        var client: HTTPClient { gateway.client }
        var mints: Int { vertex.stats.requestsByPath["/token"] ?? 0 }
        var lastModelRequest: MockObservedRequest? {
            vertex.stats.recentRequests.last { $0.path.hasPrefix("/v1/") }
        }
    }

    static func withVertexGateway<T>(
        _ adjust: (inout VertexMockSettings) -> Void = { _ in }, _ body: (Fixture) async throws -> T
    ) async throws -> T {
        let account = try account.get()
        var settings = VertexMockSettings()
        settings.serviceAccount = account
        settings.expressAPIKey = GatewayBinary.providerKey
        adjust(&settings)
        var main = MockProviderConfiguration(dialect: .vertex)
        main.vertex = settings
        var failing = main
        failing.vertex.tokenFaults = "status=503"
        return try await withMocks([main, failing]) { mocks in
            let (vertex, broken) = (mocks[0], mocks[1])
            return try await withGatewayProcess(
                yaml: { directory, socket in
                    """
                    listen: { socket: \(socket) }
                    state: { path: \(directory.path)/state }
                    auth: { mode: none }
                    log: { level: debug }
                    timeouts: { connect: 2s, first_byte: 5s }
                    providers:
                      vx: { kind: vertex, project: llmgw-test, location: us-east5, base_url: "\(vertex.baseURL)", credentials_file: "\(directory.path)/sa.json" }
                      vx-meta: { kind: vertex, project: "740989871600", base_url: "\(vertex.baseURL)", metadata_server: "\(vertex.baseURL)" }
                      vx-broken: { kind: vertex, project: llmgw-test, location: us-east5, base_url: "\(broken.baseURL)", credentials_file: "\(directory.path)/sa-broken.json" }
                      vx-express: { kind: vertex, base_url: "\(vertex.baseURL)", api_key: "env:LLMGW_E2E_KEY" }
                    models:
                      - name: vgemini
                        targets: [{ provider: vx, model: gemini-2.5-flash }]
                      - name: vclaude
                        targets: [{ provider: vx, model: claude-sonnet-4-5-20250929 }]
                      - name: vmeta
                        targets: [{ provider: vx-meta, model: gemini-2.5-flash }]
                      - name: vexpress
                        targets: [{ provider: vx-express, model: gemini-2.5-flash }]
                      - name: vexpress-claude
                        targets: [{ provider: vx-express, model: claude-opus-4-6 }]
                      - name: vflaky
                        targets: [{ provider: vx, model: "gemini-2.5-flash#status=503x1" }]
                      - name: vclaude-overloaded
                        targets: [{ provider: vx, model: "claude-sonnet-4-5@20250929#status=529" }, { provider: vx, model: gemini-2.5-flash }]
                      - name: vclaude-cut
                        targets: [{ provider: vx, model: "claude-sonnet-4-5@20250929#error_event=1" }, { provider: vx, model: gemini-2.5-flash }]
                      - name: vclaude-midstream
                        targets: [{ provider: vx, model: "claude-sonnet-4-5@20250929#error_event=6" }]
                      - name: vfailover
                        targets: [{ provider: vx-broken, model: gemini-2.5-flash }, { provider: vx, model: "claude-haiku-4-5@20251001" }]
                    """
                },
                prepare: { gateway in
                    for (name, mock) in [("sa.json", vertex), ("sa-broken.json", broken)] {
                        try account.keyFile(tokenURI: mock.baseURL + "/token")
                            .write(toFile: gateway.directory.path + "/" + name, atomically: true, encoding: .utf8)
                    }
                }
            ) { gateway in
                let fixture = Fixture(gateway: gateway, vertex: vertex, broken: broken)
                let result = try await body(fixture)
                // No token and no private key in anything the gateway printed or stored.
                let printed = gateway.stdout() + gateway.stderr()
                #expect(!printed.contains("ya29."), "an access token leaked into the gateway's output")
                #expect(!printed.contains("PRIVATE KEY"), "the private key leaked into the gateway's output")
                let keyBody = account.privateKeyPEM.split(separator: "\n").dropFirst(2).first.map(String.init) ?? "-"
                #expect(!printed.contains(keyBody))
                let metrics = try await gateway.client.get("/metrics")
                #expect(!metrics.text.contains("ya29."))
                let state = try await gateway.stateDump()
                #expect(!state.contains("ya29"), "an access token reached the shared state")
                return result
            }
        }
    }

    static func choiceText(_ response: HTTPResponse) throws -> String? {
        let choice = try #require((try response.json()["choices"] as? [[String: Any]])?.first)
        return (choice["message"] as? [String: Any])?["content"] as? String
    }

    static func messages(model: String, stream: Bool = false, text: String = "Hello there") -> String {
        #"{"model":"\#(model)","max_tokens":64,"#
            + (stream ? #""stream":true,"# : "") + #""messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    static let anthropicHeaders = [("anthropic-version", "2023-06-01"), ("x-api-key", "client-key")]

    @Test func anOpenAIChatReachesGeminiOnVertexWithAMintedToken() async throws {
        try await Self.withVertexGateway { fixture in
            let response = try await fixture.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "vgemini"), headers: [("x-request-id", "vx-gemini")])
            #expect(response.status == 200, "\(response.text)")
            #expect(try Self.choiceText(response)?.contains("Hello there") == true)
            #expect(response.header("x-llmgw-provider") == "vx")
            let sent = try #require(fixture.lastModelRequest)
            #expect(
                sent.path
                    == "/v1/projects/llmgw-test/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent"
            )
            #expect(sent.header("authorization")?.hasPrefix("Bearer ya29.") == true)
            #expect(sent.header("x-goog-api-key") == nil)
            let grant = try #require(fixture.vertex.stats.recentRequests.first { $0.path == "/token" })
            #expect(grant.header("content-type") == "application/x-www-form-urlencoded")
            // A second request reuses the cached token.
            #expect(
                try await fixture.client.post("/v1/chat/completions", json: .chatRequest(model: "vgemini")).status
                    == 200)
            #expect(fixture.mints == 1)
            let line = try #require(await fixture.gateway.accessLine(requestID: "vx-gemini"))
            #expect((line["prompt_tokens"] as? Int ?? 0) > 0)
        }
    }

    @Test func aGeminiStreamAndToolCallsComeBackAsOpenAIChunks() async throws {
        try await Self.withVertexGateway { fixture in
            let stream = try await fixture.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "vgemini", stream: true, includeUsage: true))
            #expect(stream.status == 200)
            #expect(stream.text.hasSuffix("data: [DONE]\n\n"), "\(stream.text)")
            #expect(stream.text.contains(#""usage":{"#))
            #expect(fixture.lastModelRequest?.uri.hasSuffix(":streamGenerateContent?alt=sse") == true)
            let tools =
                #"[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]"#
            let first = try await fixture.client.post(
                "/v1/chat/completions",
                json:
                    #"{"model":"vgemini","tools":\#(tools),"messages":[{"role":"user","content":"Weather in Paris?"}]}"#
            )
            #expect(first.status == 200, "\(first.text)")
            let message = try #require(
                ((try first.json()["choices"] as? [[String: Any]])?.first)?["message"] as? [String: Any])
            let call = try #require((message["tool_calls"] as? [[String: Any]])?.first)
            let id = try #require(call["id"] as? String)
            let arguments = try #require((call["function"] as? [String: Any])?["arguments"] as? String)
            let quoted = String(
                decoding: try JSONSerialization.data(withJSONObject: arguments, options: .fragmentsAllowed),
                as: UTF8.self)
            let second = try await fixture.client.post(
                "/v1/chat/completions",
                json: #"""
                    {"model":"vgemini","tools":\#(tools),"messages":[{"role":"user","content":"Weather in Paris?"},
                    {"role":"assistant","content":null,"tool_calls":[{"id":"\#(id)","type":"function","function":{"name":"get_weather","arguments":\#(quoted)}}]},
                    {"role":"tool","tool_call_id":"\#(id)","content":"18C, cloudy"}]}
                    """#)
            #expect(second.status == 200, "\(second.text)")
            #expect(second.text.contains("18C"))
        }
    }

    @Test func anOpenAIChatReachesClaudeOnVertexThroughRawPredict() async throws {
        try await Self.withVertexGateway { fixture in
            let response = try await fixture.client.post("/v1/chat/completions", json: .chatRequest(model: "vclaude"))
            #expect(response.status == 200, "\(response.text)")
            #expect(try Self.choiceText(response)?.contains("Hello there") == true)
            let sent = try #require(fixture.lastModelRequest)
            #expect(sent.path.hasSuffix("/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"))
            let body = try #require(try JSONSerialization.jsonObject(with: Data(sent.body)) as? [String: Any])
            #expect(body["model"] == nil)
            #expect(body["anthropic_version"] as? String == "vertex-2023-10-16")
            #expect(sent.header("x-api-key") == nil)
            #expect(sent.header("anthropic-version") == nil)
            let stream = try await fixture.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "vclaude", stream: true, includeUsage: true))
            #expect(stream.status == 200)
            #expect(stream.text.hasSuffix("data: [DONE]\n\n"), "\(stream.text)")
            #expect(!stream.text.contains("vertex_event"))
            #expect(fixture.lastModelRequest?.path.hasSuffix(":streamRawPredict") == true)
        }
    }

    @Test func anAnthropicClientsBodyPassesThroughToClaudeAndVertexEventIsNeverRelayed() async throws {
        try await Self.withVertexGateway({ $0.vertexEvent = .beforeMessageStop }) { fixture in
            let response = try await fixture.client.post(
                "/v1/messages", json: Self.messages(model: "vclaude"),
                headers: Self.anthropicHeaders + [("anthropic-beta", "context-1m-2025-08-07")])
            #expect(response.status == 200, "\(response.text)")
            let json = try response.json()
            #expect((json["id"] as? String)?.hasPrefix("msg_vrtx_") == true)
            let sent = try #require(fixture.lastModelRequest)
            #expect(
                String(decoding: sent.body, as: UTF8.self)
                    == #"{"max_tokens":64,"messages":[{"role":"user","content":"Hello there"}],"anthropic_version":"vertex-2023-10-16"}"#
            )
            #expect(sent.header("anthropic-beta") == "context-1m-2025-08-07")
            #expect(sent.header("x-api-key") == nil)
            let stream = try await fixture.client.post(
                "/v1/messages", json: Self.messages(model: "vclaude", stream: true), headers: Self.anthropicHeaders)
            #expect(stream.status == 200)
            #expect(!stream.text.contains("vertex_event"), "\(stream.text)")
            #expect(stream.text.contains("event: message_start"))
            #expect(stream.text.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
            // The mock did send it.
            #expect(fixture.lastModelRequest?.path.hasSuffix(":streamRawPredict") == true)
        }
    }

    @Test func countTokensIsAskedOfClaudeOnVertex() async throws {
        try await Self.withVertexGateway { fixture in
            let response = try await fixture.client.post(
                "/v1/messages/count_tokens",
                json: #"{"model":"vclaude","messages":[{"role":"user","content":"Count these words"}]}"#,
                headers: Self.anthropicHeaders)
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-llmgw-token-count") == nil)
            #expect((try response.json()["input_tokens"] as? Int ?? 0) > 0)
            let sent = try #require(fixture.lastModelRequest)
            #expect(sent.path.hasSuffix("/publishers/anthropic/models/count-tokens:rawPredict"))
            let body = try #require(try JSONSerialization.jsonObject(with: Data(sent.body)) as? [String: Any])
            #expect(body["model"] as? String == "claude-sonnet-4-5@20250929")
            #expect(body["anthropic_version"] as? String == "vertex-2023-10-16")
        }
    }

    @Test func anAnthropicClientReachesGeminiOnVertexTranslated() async throws {
        try await Self.withVertexGateway { fixture in
            let response = try await fixture.client.post(
                "/v1/messages", json: Self.messages(model: "vgemini"), headers: Self.anthropicHeaders)
            #expect(response.status == 200, "\(response.text)")
            let json = try response.json()
            #expect(json["type"] as? String == "message")
            let stream = try await fixture.client.post(
                "/v1/messages", json: Self.messages(model: "vgemini", stream: true), headers: Self.anthropicHeaders)
            #expect(stream.status == 200)
            #expect(stream.text.contains("event: message_stop"), "\(stream.text)")
        }
    }

    @Test func theMetadataServerGivesTheTokenForTheProjectNumber() async throws {
        try await Self.withVertexGateway { fixture in
            let response = try await fixture.client.post("/v1/chat/completions", json: .chatRequest(model: "vmeta"))
            #expect(response.status == 200, "\(response.text)")
            let asked = try #require(
                fixture.vertex.stats.recentRequests.first { $0.path.hasPrefix("/computeMetadata/") })
            #expect(asked.header("metadata-flavor") == "Google")
            #expect(asked.method == "GET")
            #expect(
                fixture.lastModelRequest?.path
                    == "/v1/projects/740989871600/locations/global/publishers/google/models/gemini-2.5-flash:generateContent"
            )
            #expect(fixture.mints == 0)
        }
    }

    @Test func expressModeSendsTheAPIKeyOnTheProjectlessPath() async throws {
        try await Self.withVertexGateway { fixture in
            let response = try await fixture.client.post("/v1/chat/completions", json: .chatRequest(model: "vexpress"))
            #expect(response.status == 200, "\(response.text)")
            let sent = try #require(fixture.lastModelRequest)
            #expect(sent.path == "/v1/publishers/google/models/gemini-2.5-flash:generateContent")
            #expect(sent.header("x-goog-api-key") == GatewayBinary.providerKey)
            #expect(sent.header("authorization") == nil)
            #expect(fixture.mints == 0)
            let claude = try await fixture.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "vexpress-claude"))
            #expect(claude.status == 400)
            #expect(claude.text.contains("express mode serves Gemini models only"))
        }
    }

    @Test func vertexErrorsAreRetriedAndFailedOverLikeOthers() async throws {
        try await Self.withVertexGateway { fixture in
            let flaky = try await fixture.client.post("/v1/chat/completions", json: .chatRequest(model: "vflaky"))
            #expect(flaky.status == 200, "\(flaky.text)")
            #expect(flaky.header("x-llmgw-attempts") == "2")
            let overloaded = try await fixture.client.post(
                "/v1/messages", json: Self.messages(model: "vclaude-overloaded"), headers: Self.anthropicHeaders)
            #expect(overloaded.status == 200, "\(overloaded.text)")
            #expect(try overloaded.json()["type"] as? String == "message")
            #expect(fixture.lastModelRequest?.path.hasSuffix("/gemini-2.5-flash:generateContent") == true)
        }
    }

    @Test func aClaudeStreamErrorFailsOverBeforeOutputAndCutsTheStreamAfter() async throws {
        try await Self.withVertexGateway { fixture in
            // message_start, then Claude's in-band error: nothing real reached the client yet.
            let early = try await fixture.client.post(
                "/v1/messages", json: Self.messages(model: "vclaude-cut", stream: true), headers: Self.anthropicHeaders)
            #expect(early.status == 200)
            #expect(early.text.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "\(early.text)")
            #expect(!early.text.contains("overloaded_error"))
            #expect(fixture.lastModelRequest?.path.hasSuffix("/gemini-2.5-flash:streamGenerateContent") == true)
            // After output, the error is relayed in-band and the stream ends without message_stop.
            let late = try await fixture.client.post(
                "/v1/messages", json: Self.messages(model: "vclaude-midstream", stream: true),
                headers: Self.anthropicHeaders)
            #expect(late.status == 200)
            #expect(late.text.contains("event: content_block_delta"), "\(late.text)")
            #expect(late.text.contains("event: error"))
            #expect(!late.text.contains("message_stop"))
            #expect(!late.text.contains("vertex_event"))
        }
    }

    @Test func aTokenIsMintedAgainOnceItIsDueForRefresh() async throws {
        try await Self.withVertexGateway({ $0.tokenLifetimeSeconds = 4 }) { fixture in
            let sent = ContinuousClock.now
            #expect(
                try await fixture.client.post("/v1/chat/completions", json: .chatRequest(model: "vgemini")).status
                    == 200)
            let answered = ContinuousClock.now
            #expect(fixture.mints == 1)
            let first = try #require(fixture.lastModelRequest?.header("authorization"))
            // A 4 s token is refreshed after half its life (the mint came between `sent` and
            // `answered`), in the background: a request before its expiry still goes out with it.
            try await Task.sleep(until: answered + .milliseconds(2300))
            #expect(
                try await fixture.client.post("/v1/chat/completions", json: .chatRequest(model: "vgemini")).status
                    == 200)
            if ContinuousClock.now - sent < .milliseconds(3500) {
                #expect(fixture.lastModelRequest?.header("authorization") == first)
            }
            for _ in 0..<200 where fixture.mints < 2 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(fixture.mints == 2)
            #expect(
                try await fixture.client.post("/v1/chat/completions", json: .chatRequest(model: "vgemini")).status
                    == 200)
            let second = try #require(fixture.lastModelRequest?.header("authorization"))
            #expect(second != first)
            #expect(second.hasPrefix("Bearer ya29."))
        }
    }

    @Test func aTokenTheProviderNoLongerAcceptsIsReplacedAndTheRequestRetried() async throws {
        try await Self.withVertexGateway({ $0.tokenAcceptedSeconds = 1 }) { fixture in
            #expect(
                try await fixture.client.post("/v1/chat/completions", json: .chatRequest(model: "vclaude")).status
                    == 200)
            try await Task.sleep(for: .milliseconds(1200))
            let response = try await fixture.client.post(
                "/v1/messages", json: Self.messages(model: "vclaude"),
                headers: Self.anthropicHeaders + [("x-request-id", "vx-401")])
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-llmgw-attempts") == "2")
            #expect(fixture.mints == 2)
            let line = try #require(await fixture.gateway.accessLine(requestID: "vx-401"))
            let attempts = try #require(line["attempts"] as? [[String: Any]])
            #expect(attempts.first?["status"] as? Int == 401)
        }
    }

    @Test func concurrentFirstRequestsMintOneToken() async throws {
        try await Self.withVertexGateway { fixture in
            let client = fixture.client
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await client.post("/v1/chat/completions", json: .chatRequest(model: "vgemini")).status
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: 200, count: 8))
            #expect(fixture.mints == 1)
        }
    }

    @Test func aFailingTokenEndpointFailsOverToTheNextTarget() async throws {
        try await Self.withVertexGateway { fixture in
            let response = try await fixture.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "vfailover"),
                headers: [("x-request-id", "vx-failover")])
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-llmgw-attempts") == "2")
            #expect(fixture.broken.stats.requestsByPath["/token"] == 1)
            #expect(fixture.broken.stats.recentRequests.allSatisfy { $0.path == "/token" })
            let line = try #require(await fixture.gateway.accessLine(requestID: "vx-failover"))
            let attempts = try #require(line["attempts"] as? [[String: Any]])
            let error = try #require(attempts.first?["error"] as? String)
            #expect(error.contains("access token: the token endpoint answered HTTP 503 (temporarily_unavailable"))
            #expect(fixture.lastModelRequest?.path.hasSuffix("/claude-haiku-4-5@20251001:rawPredict") == true)
        }
    }
}

/// `llmgw check` reads every Vertex key file and reports one it cannot use, by path only.
@Suite struct VertexCheckEndToEndTests {
    @Test func checkReportsAnUnusableServiceAccountKey() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-vx-check-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.path + "/sa.json"
        let config = directory.path + "/llmgw.yaml"
        try """
        providers:
          vx: { kind: vertex, project: llmgw-test, credentials_file: "\(keyPath)" }
        models:
          - name: vgemini
            targets: [{ provider: vx, model: gemini-2.5-flash }]
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let account = try VertexMockServiceAccount.generate()
        try account.keyFile(tokenURI: "http://127.0.0.1:9/token").write(
            toFile: keyPath, atomically: true, encoding: .utf8)
        let good = try await runLLMGW(["check", "--config", config])
        #expect(good.status == 0, "\(good.stderr)")
        try
            #"{"type":"service_account","client_email":"sa@p.iam.gserviceaccount.com","private_key":"not-a-key-4711","token_uri":"x"}"#
            .write(toFile: keyPath, atomically: true, encoding: .utf8)
        let bad = try await runLLMGW(["check", "--config", config])
        #expect(bad.status == 1)
        #expect(
            bad.stderr.contains(
                "providers.vx.credentials_file: the service-account private_key is not a usable RSA key"))
        #expect(!bad.stderr.contains("not-a-key-4711"))
    }
}

extension GatewayProcess {
    /// The access line with this request id; waits briefly for it to land.
    func accessLine(requestID: String) async -> [String: Any]? {
        for _ in 0..<50 {
            let line = stdout().split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.last { $0["msg"] as? String == "request" && $0["request_id"] as? String == requestID }
            if let line { return line }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}

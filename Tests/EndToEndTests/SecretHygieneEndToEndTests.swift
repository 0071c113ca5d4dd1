import Foundation
import GatewayTesting
import MockProvider
import Testing

/// End-to-end traffic of every kind — answers, streams, cache hits, errors, and providers that
/// echo the request they received (headers, key included) back in error bodies and in-band
/// stream errors — then a search of everything the gateway wrote: stdout, stderr, every response
/// (head and body), the CLI's output and the state (`mdb_dump -a`). No provider key and no
/// virtual-key secret may appear anywhere.
@Suite(.timeLimit(.minutes(3))) struct SecretHygieneEndToEndTests {
    static let providerKeys = [
        "OPENAI": "test-openai-SECRET-1a2b3c4d5e6f",
        "ANTHROPIC": "test-anthropic-SECRET-7g8h9i0j",
        "GEMINI": "test-gemini-SECRET-k1l2m3n4",
        "AZURE": "azure-SECRET-5o6p7q8r9s0t",
        "ECHO_OPENAI": "test-echo-openai-SECRET-u1v2w3",
        "ECHO_ANTHROPIC": "test-echo-anthropic-SECRET-x4y5z6",
        "ECHO_GEMINI": "test-echo-gemini-SECRET-a7b8c9",
        "ECHO_AZURE": "echo-azure-SECRET-d0e1f2",
    ]

    /// Answers every request with an error (or an in-band stream error) that quotes the whole
    /// request it received, in the shape of the dialect the path belongs to.
    static func echo(_ connection: ScriptedConnection) {
        guard let (head, body) = connection.readRequest() else { return connection.close() }
        let quoted = String(
            decoding: JSONSerialization.quoted(head + "\n" + String(decoding: body, as: UTF8.self)), as: UTF8.self)
        let path = head.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        let text = String(decoding: body, as: UTF8.self)
        let model = text.firstMatch(of: /"model":"([^"]+)"/).map { String($0.1) } ?? path
        let status = ["400", "401", "404", "429", "500"].first { model.contains("echo-\($0)") } ?? "200"
        let anthropic = path.hasPrefix("/v1/messages")
        let gemini = path.contains(":generateContent") || path.contains(":streamGenerateContent")
        let error =
            anthropic
            ? #"{"type":"error","error":{"type":"invalid_request_error","message":\#(quoted)}}"#
            : gemini
                ? #"{"error":{"code":\#(status == "200" ? "500" : status),"message":\#(quoted),"status":"INVALID_ARGUMENT"}}"#
                : #"{"error":{"message":\#(quoted),"type":"invalid_request_error","param":null,"code":null}}"#
        if status == "200" {
            // A stream that starts with real output, then fails in-band quoting the request.
            let output: String
            if anthropic {
                output =
                    #"event: message_start\#ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"usage":{"input_tokens":1,"output_tokens":1}}}\#n\#n"#
                    + #"event: content_block_start\#ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\#n\#n"#
                    + #"event: content_block_delta\#ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}\#n\#n"#
            } else if gemini {
                output = #"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"index":0}]}\#n\#n"#
            } else {
                output =
                    #"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}\#n\#n"#
            }
            let failure = (anthropic ? "event: error\n" : "") + "data: \(error)\n\n"
            connection.write(
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                    + "content-length: \(output.utf8.count + failure.utf8.count)\r\n\r\n" + output)
            // The error comes in a later chunk, once the output has reached the client.
            Thread.sleep(forTimeInterval: 0.2)
            connection.write(failure)
        } else {
            connection.write(
                "HTTP/1.1 \(status) Echo\r\ncontent-type: application/json\r\ncontent-length: \(error.utf8.count)\r\n"
                    + "retry-after: 0\r\n\r\n" + error)
        }
        connection.close()
    }

    @Test func noSecretAppearsInAnythingTheGatewayWrites() async throws {
        try await HeavyTestGate.exclusively {
            let keys = Self.providerKeys
            let echo = try ScriptedTCPServer(handle: Self.echo)
            try await withCleanup {
                try await withMocks([
                    MockProviderConfiguration(apiKey: keys["OPENAI"]!),
                    MockProviderConfiguration(dialect: .anthropic, apiKey: keys["ANTHROPIC"]!),
                    MockProviderConfiguration(dialect: .gemini, apiKey: keys["GEMINI"]!),
                    MockProviderConfiguration(dialect: .azure, apiKey: keys["AZURE"]!),
                ]) { mocks in
                    let (openai, anthropic, gemini, azure) = (mocks[0], mocks[1], mocks[2], mocks[3])
                    var environment: [String: String] = [:]
                    for (name, key) in keys { environment["LLMGW_KEY_\(name)"] = key }
                    var secrets: [String] = Array(keys.values)
                    try await withGatewayProcess(environment: environment) { directory, socket in
                        var yaml = """
                            listen: { socket: \(socket) }
                            state: { path: \(directory.path)/state }
                            auth: { mode: keys }
                            cache: { enabled: true }
                            retry: { attempts_per_target: 1, retry_after_cap: 1s }
                            providers:
                              openai: { kind: openai, base_url: "\(openai.baseURL)", api_key: "env:LLMGW_KEY_OPENAI" }
                              claude: { kind: anthropic, base_url: "\(anthropic.baseURL)", api_key: "env:LLMGW_KEY_ANTHROPIC" }
                              gem: { kind: gemini, base_url: "\(gemini.baseURL)", api_key: "env:LLMGW_KEY_GEMINI" }
                              azure: { kind: azure, base_url: "\(azure.baseURL)", api_key: "env:LLMGW_KEY_AZURE", api_version: "2024-10-21" }
                              echo-openai: { kind: openai, base_url: "\(echo.baseURL)/v1", api_key: "env:LLMGW_KEY_ECHO_OPENAI" }
                              echo-claude: { kind: anthropic, base_url: "\(echo.baseURL)", api_key: "env:LLMGW_KEY_ECHO_ANTHROPIC" }
                              echo-gem: { kind: gemini, base_url: "\(echo.baseURL)", api_key: "env:LLMGW_KEY_ECHO_GEMINI" }
                              echo-azure: { kind: azure, base_url: "\(echo.baseURL)", api_key: "env:LLMGW_KEY_ECHO_AZURE", api_version: "2024-10-21" }
                            models:
                              - { name: smart, targets: [{ provider: openai, model: gpt-4o-mini }] }
                              - { name: claude, targets: [{ provider: claude, model: claude-sonnet-4-5 }] }
                              - { name: gemini, targets: [{ provider: gem, model: gemini-2.5-flash }] }
                              - { name: azure, targets: [{ provider: azure, model: gpt4o-prod }] }
                              - { name: embed, targets: [{ provider: openai, model: text-embedding-3-small }] }

                            """
                        for provider in ["echo-openai", "echo-claude", "echo-gem", "echo-azure"] {
                            for status in ["400", "401", "404", "429", "500", "stream"] {
                                yaml +=
                                    "  - { name: \(provider)-\(status), targets: [{ provider: \(provider), model: echo-\(status) }] }\n"
                            }
                        }
                        return yaml
                    } prepare: { gateway in
                        for name in ["traffic", "revoked"] {
                            let created = try await gateway.cli([
                                "keys", "create", "--name", name, "--rpm", "10000", "--budget-usd", "50",
                            ])
                            secrets.append(created.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
                        }
                        let listed = try await gateway.cli(["keys", "list"])
                        let revokedID = listed.stdout.split(separator: "\n").first { $0.contains("revoked") }?
                            .split(separator: " ").first.map(String.init)
                        if let revokedID { _ = try await gateway.cli(["keys", "revoke", revokedID]) }
                    } _: { gateway in
                        let virtualKey = secrets[secrets.count - 2]
                        let revokedKey = secrets[secrets.count - 1]
                        #expect(virtualKey.hasPrefix("sk-llmgw-") && revokedKey.hasPrefix("sk-llmgw-"))
                        var transcript = ""
                        func send(
                            _ path: String, _ body: String, key: String = virtualKey, anthropicStyle: Bool = false
                        )
                            async throws
                        {
                            var headers = [("content-type", "application/json"), ("anthropic-version", "2023-06-01")]
                            headers.append(anthropicStyle ? ("x-api-key", key) : ("authorization", "Bearer \(key)"))
                            let response = try await gateway.client.send(
                                "POST", path, headers: headers, body: Array(body.utf8))
                            transcript +=
                                "\(response.status)\n" + response.headers.map { "\($0.name): \($0.value)\n" }.joined()
                            transcript += response.text + "\n"
                        }
                        let chatModels =
                            ["smart", "claude", "gemini", "azure"]
                            + ["echo-openai", "echo-claude", "echo-gem", "echo-azure"].flatMap { provider in
                                ["400", "401", "404", "429", "500", "stream"].map { "\(provider)-\($0)" }
                            }
                        for model in chatModels {
                            for stream in [false, true] {
                                try await send("/v1/chat/completions", .chatRequest(model: model, stream: stream))
                                let messages =
                                    #"{"model":"\#(model)","max_tokens":16,"stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#
                                try await send("/v1/messages", messages, anthropicStyle: true)
                            }
                            try await send(
                                "/v1/messages/count_tokens",
                                #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#)
                        }
                        // Twice, so the second is a cache hit.
                        try await send("/v1/chat/completions", .chatRequest(model: "smart"))
                        try await send("/v1/embeddings", #"{"model":"embed","input":"hello"}"#)
                        try await send("/v1/chat/completions", .chatRequest(model: "smart"), key: revokedKey)
                        try await send(
                            "/v1/messages", #"{"model":"claude","max_tokens":5,"messages":[]}"#,
                            key: "sk-llmgw-bogus\(virtualKey.suffix(12))")
                        #expect(
                            transcript.contains("HTTP 500") || transcript.contains("502"),
                            "the echo providers were reached")
                        #expect(echo.connections > 20)
                        #expect(gateway.isRunning)

                        var cliOutput = ""
                        for command in [["keys", "list"], ["usage"]] {
                            let result = try await gateway.cli(command)
                            cliOutput += result.stdout + result.stderr
                        }
                        let state = try await gateway.stateDump()
                        #expect(state.contains("cache"), "mdb_dump read the state")
                        await gateway.terminate()
                        let sources = [
                            ("stdout", gateway.stdout()), ("stderr", gateway.stderr()), ("responses", transcript),
                            ("cli", cliOutput),
                            ("state", state),
                        ]
                        for secret in secrets {
                            for (name, text) in sources {
                                #expect(!text.contains(secret), "\(secret.prefix(10))… appears in \(name)")
                            }
                        }
                    }
                }
            } cleanup: {
                echo.stop()
            }
        }
    }
}

extension JSONSerialization {
    /// `text` as a JSON string literal.
    static func quoted(_ text: String) -> [UInt8] {
        (try? data(withJSONObject: [text], options: [.fragmentsAllowed])).map { Array($0.dropFirst().dropLast()) } ?? []
    }
}

import Foundation
import GatewayTesting
import MockProvider
import Synchronization
import Testing

/// A provider that misbehaves at the byte level (scripted on a raw loopback socket): every
/// misbehaviour is classified and failed over to a healthy target (or answered 502), the
/// gateway never crashes, and nothing it buffers grows without bound.
@Suite(.timeLimit(.minutes(3))) struct HostileUpstreamEndToEndTests {
    /// What the hostile provider does, keyed by the upstream model name it is asked for.
    static func misbehave(_ scenario: String, on connection: ScriptedConnection) {
        func head(_ status: String, _ headers: [String]) -> String {
            "HTTP/1.1 \(status)\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n"
        }
        func json(_ status: String, _ body: String, extra: [String] = []) {
            connection.write(
                head(status, ["content-type: application/json", "content-length: \(body.utf8.count)"] + extra) + body)
        }
        let completion = { (usage: String) in
            #"{"id":"chatcmpl-h","object":"chat.completion","created":1,"model":"h","choices":[{"index":0,"#
                + #""message":{"role":"assistant","content":"hostile"},"finish_reason":"stop"}],"usage":"# + usage + "}"
        }
        switch scenario {
        case "endless-headers":
            connection.write("HTTP/1.1 200 OK\r\n")
            var index = 0
            while connection.write("x-endless-\(index): \(String(repeating: "v", count: 100))\r\n") { index += 1 }
        case "huge-header-line":
            connection.write("HTTP/1.1 200 OK\r\nx-huge: ")
            let filler = String(repeating: "h", count: 64 * 1024)
            for _ in 0..<64 where connection.write(filler) {}
            connection.write("\r\n\r\n{}")
        case "many-headers":
            connection.write(head("200 OK", (0..<5000).map { "x-h\($0): v" } + ["content-length: 2"]) + "{}")
        case "retry-after-huge":
            json(
                "429 Too Many Requests", #"{"error":{"message":"slow down","type":"requests","code":null}}"#,
                extra: ["retry-after: 1e20", "retry-after-ms: 1e30"])
        case "retry-after-inf":
            json(
                "429 Too Many Requests", #"{"error":{"message":"slow down","type":"requests","code":null}}"#,
                extra: ["retry-after: inf"])
        case "retry-after-negative":
            json(
                "503 Service Unavailable", #"{"error":{"message":"down","type":"server_error","code":null}}"#,
                extra: ["retry-after: -5", "retry-after-ms: -1"])
        case "usage-max":
            json(
                "200 OK",
                completion(
                    #"{"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807,"total_tokens":1}"#))
        case "usage-negative":
            json("200 OK", completion(#"{"prompt_tokens":-1000000,"completion_tokens":-5,"total_tokens":-1}"#))
        case "html-200":
            let body = "<html><body>502 Bad Gateway</body></html>"
            connection.write(head("200 OK", ["content-type: text/html", "content-length: \(body.utf8.count)"]) + body)
        case "truncated-chunked":
            connection.write(head("200 OK", ["content-type: application/json", "transfer-encoding: chunked"]))
            connection.write("1000\r\n{\"id\":\"cut")
        case "truncated-length":
            connection.write(head("200 OK", ["content-type: application/json", "content-length: 5000"]) + "{\"id\":")
        case "huge-body":
            connection.write(head("200 OK", ["content-type: application/json", "content-length: 104857600"]))
            connection.write("{\"a\":\"")
            let filler = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
            for _ in 0..<100 where connection.write(filler) {}
        case "endless-line":
            connection.write(head("200 OK", ["content-type: text/event-stream", "transfer-encoding: chunked"]))
            let chunk = String(repeating: "x", count: 1 << 20)
            var chunked = "6\r\ndata: \r\n"
            while connection.write(chunked) { chunked = String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n" }
        case "slowloris":
            connection.write(head("200 OK", ["content-type: application/json", "content-length: 100000"]))
            while connection.write("{") { Thread.sleep(forTimeInterval: 0.3) }
        case "gzip-bomb":
            // A gzip member header and deflate bytes; it must never be inflated.
            var body: [UInt8] = [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03]
            body += [UInt8](repeating: 0x00, count: 4096)
            connection.write(
                head(
                    "200 OK",
                    [
                        "content-type: application/json", "content-encoding: gzip", "content-length: \(body.count)",
                    ]))
            connection.write(body)
        case "stream-usage-max":
            let events = [
                #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"h","choices":[{"index":0,"delta":{"role":"assistant","content":"hi"},"finish_reason":null}]}"#,
                #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"h","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
                #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"h","choices":[],"usage":{"prompt_tokens":9223372036854775807,"completion_tokens":-9223372036854775808}}"#,
            ]
            let body = events.map { "data: \($0)\n\n" }.joined() + "data: [DONE]\n\n"
            connection.write(
                head("200 OK", ["content-type: text/event-stream", "content-length: \(body.utf8.count)"]) + body)
        default:
            json("500 Internal Server Error", #"{"error":{"message":"unknown scenario","type":"server_error"}}"#)
        }
    }

    static let failingScenarios = [
        "endless-headers", "huge-header-line", "many-headers", "retry-after-huge", "retry-after-inf",
        "retry-after-negative", "html-200", "truncated-chunked", "truncated-length", "huge-body", "slowloris",
        "gzip-bomb",
    ]

    @Test func everyMisbehaviourIsClassifiedAndFailedOver() async throws {
        try await HeavyTestGate.exclusively {
            let requestHeads = RecordedHeads()
            let hostile = try ScriptedTCPServer { connection in
                guard let (head, body) = connection.readRequest() else { return connection.close() }
                requestHeads.append(head)
                let text = String(decoding: body, as: UTF8.self)
                let model = text.firstMatch(of: /"model":"([^"]+)"/).map { String($0.1) } ?? ""
                Self.misbehave(model, on: connection)
                connection.close()
            }
            try await withCleanup {
                try await withProviderMock { mock in
                    let scenarios =
                        Self.failingScenarios + ["usage-max", "usage-negative", "stream-usage-max", "endless-line"]
                    try await withGatewayProcess { directory, socket in
                        var yaml = """
                            listen: { socket: \(socket) }
                            state: { path: \(directory.path)/state }
                            retry: { retry_after_cap: 2s, attempts_per_target: 2 }
                            circuit: { failures: 1000 }
                            providers:
                              hostile:
                                kind: openai
                                base_url: "\(hostile.baseURL)/v1"
                                api_key: "env:LLMGW_E2E_KEY"
                                timeouts: { first_byte: 3s, idle: 2s, total: 4s }
                              mock: { kind: openai, base_url: "\(mock.baseURL)", api_key: "env:LLMGW_E2E_KEY" }
                            models:

                            """
                        for scenario in scenarios {
                            yaml += "  - name: \(scenario)\n    targets: [{ provider: hostile, model: \(scenario) }]\n"
                            yaml += "  - name: \(scenario)-fo\n"
                            yaml +=
                                "    targets: [{ provider: hostile, model: \(scenario) }, { provider: mock, model: gpt-4o-mini }]\n"
                        }
                        return yaml
                    } _: { gateway in
                        for scenario in Self.failingScenarios {
                            let failedOver = try await gateway.client.post(
                                "/v1/chat/completions", json: .chatRequest(model: "\(scenario)-fo"))
                            #expect(
                                failedOver.status == 200,
                                "\(scenario)-fo: \(failedOver.status) \(failedOver.text.prefix(300))")
                            #expect(failedOver.header("x-llmgw-provider") == "mock", "\(scenario)-fo")
                            // (A second 100 MiB body would only cost time: its cap is shown by the failover above.)
                            guard scenario != "huge-body" else { continue }
                            let alone = try await gateway.client.post(
                                "/v1/chat/completions", json: .chatRequest(model: scenario))
                            #expect(
                                [429, 502, 503, 504].contains(alone.status),
                                "\(scenario): \(alone.status) \(alone.text.prefix(300))")
                            #expect(
                                (try? alone.json())?["error"] != nil,
                                "\(scenario): not an error body: \(alone.text.prefix(300))")
                            #expect(gateway.isRunning, "llmgw died on \(scenario)")
                        }
                        // An endless SSE line: the stream fails over before anything reached the client.
                        let line = try await gateway.client.post(
                            "/v1/chat/completions", json: .chatRequest(model: "endless-line-fo", stream: true))
                        #expect(line.status == 200)
                        #expect(line.header("x-llmgw-provider") == "mock")
                        #expect(line.text.contains("data: [DONE]"))
                        // Absurd usage is clamped: the answer is relayed, nothing traps.
                        for scenario in ["usage-max", "usage-negative"] {
                            let response = try await gateway.client.post(
                                "/v1/chat/completions", json: .chatRequest(model: scenario))
                            #expect(response.status == 200, "\(scenario): \(response.text.prefix(300))")
                        }
                        let stream = try await gateway.client.post(
                            "/v1/chat/completions",
                            json: .chatRequest(model: "stream-usage-max", stream: true, includeUsage: true))
                        #expect(stream.status == 200)
                        #expect(stream.text.contains("data: [DONE]"))
                        #expect(gateway.isRunning)
                        // The gateway never asked for compression.
                        #expect(!requestHeads.all.isEmpty)
                        #expect(!requestHeads.all.contains { $0.lowercased().contains("accept-encoding") })
                        // Each was stopped by the cap or check meant for it, not by a timeout.
                        let log = gateway.stdout()
                        for reason in [
                            "too_large: response head over", "too_large: response body over",
                            "stream event over 16777216 bytes",
                            "compressed body that was not asked for", "HTTP 200 with a body that is not JSON",
                            "total_timeout",
                        ] {
                            #expect(log.contains(reason), "no attempt failed with \(reason)")
                        }
                        // Bounded buffers: 100 MiB bodies, endless headers and a 16 MiB line never pile up.
                        if let peak = gateway.peakResidentBytes {
                            #expect(peak < 600 * 1024 * 1024, "peak RSS \(peak)")
                        }
                    }
                }
            } cleanup: {
                hostile.stop()
            }
        }
    }
}

/// Request heads a scripted server saw, shared between its threads.
final class RecordedHeads: Sendable {
    private let heads = Mutex<[String]>([])
    func append(_ head: String) { heads.withLock { $0.append(head) } }
    var all: [String] { heads.withLock { $0 } }
}

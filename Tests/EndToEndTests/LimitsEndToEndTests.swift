import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The front door's limits and policies: requests in flight, open connections, the loopback TCP
/// listener's browser defences, peer allow-lists, and a stalled log reader.
@Suite(.serialized, .timeLimit(.minutes(3))) struct LimitsEndToEndTests {
    @Test func requestsOverMaxInFlightGet503WithRetryAfterInTheirDialect() async throws {
        var options = GatewayHarness.Options()
        options.listen = ["max_in_flight: 1"]
        try await withGateway(options) { gateway in
            let client = gateway.client
            // One request holds the only slot: a stream that stalls after its first events.
            let holder = try RawConnection(.unix(gateway.socketPath))
            try holder.write(
                HTTPClient.requestBytes(
                    "POST", "/v1/chat/completions", headers: [("content-type", "application/json")],
                    body: Array(String.chatRequest(model: "stalled", stream: true).utf8)))
            _ = try await blocking { try holder.read() }
            let openAI = try await client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
            #expect(openAI.status == 503)
            #expect(openAI.header("retry-after") == "1")
            #expect(try isOpenAIError(openAI))
            let anthropic = try await client.post(
                "/v1/messages", json: #"{"model":"smart","max_tokens":5,"messages":[{"role":"user","content":"x"}]}"#)
            #expect(anthropic.status == 503)
            #expect(anthropic.header("retry-after") == "1")
            #expect(try isAnthropicError(anthropic))
            #expect(gateway.mock.stats.requests == 1, "refused requests never reached the provider")
            #expect(try await client.get("/healthz").status == 200, "probes are not refused for load")
            holder.close()  // frees the slot once the gateway sees the hang-up
            var status = 0
            for _ in 0..<50 where status != 200 {
                try await Task.sleep(for: .milliseconds(100))
                status = try await client.post("/v1/chat/completions", json: .chatRequest(model: "smart")).status
            }
            #expect(status == 200)
        }
    }

    @Test func aClientThatStopsReadingIsDisconnectedAtTheWriteTimeout() async throws {
        var options = GatewayHarness.Options()
        options.listen = ["write_timeout: 1s"]
        try await withGateway(options) { gateway in
            // About 1.3 MB of embeddings: several times what the socket buffers hold.
            let inputs = (0..<64).map { "\"text \($0)\"" }.joined(separator: ",")
            let body = Array(#"{"model":"embed","dimensions":2048,"input":[\#(inputs)]}"#.utf8)
            let connection = try RawConnection(.unix(gateway.socketPath))
            defer { connection.close() }
            try connection.write(
                HTTPClient.requestBytes(
                    "POST", "/v1/embeddings", headers: [("content-type", "application/json")], body: body))
            try await Task.sleep(for: .seconds(4))  // read nothing: the gateway's writes stall
            let received = try await blocking { try connection.readToEnd(timeoutSeconds: 10) }
            let response = try HTTPResponse.parse(received)
            let declared = Int(response.header("content-length") ?? "") ?? 0
            #expect(declared > 1_000_000)
            #expect(response.body.count < declared, "the gateway gave up on the stalled client and closed")
            try await expectServing(gateway)
        }
    }

    @Test func connectionsOverMaxConnectionsGet503AndAreClosed() async throws {
        var options = GatewayHarness.Options()
        options.listen = ["max_connections: 2"]
        try await withGateway(options) { gateway in
            let idle = try (0..<2).map { _ in try RawConnection(.unix(gateway.socketPath)) }
            try await Task.sleep(for: .milliseconds(200))
            let refused = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
            #expect(refused.status == 503)
            #expect(refused.header("retry-after") == "1")
            #expect(refused.header("connection") == "close")
            #expect(try await gateway.client.get("/healthz").status == 200, "probes are not refused for load")
            for connection in idle { connection.close() }
            try await Task.sleep(for: .milliseconds(200))
            #expect(
                try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart")).status == 200)
        }
    }

    @Test func theTCPListenerRefusesBrowsersAndRebindingHosts() async throws {
        let port = try freeLoopbackPort()
        var options = GatewayHarness.Options()
        options.listen = ["tcp: 127.0.0.1:\(port)", "allowed_origins: [\"http://localhost:3000\"]"]
        try await withGateway(options) { gateway in
            // The harness waits for the Unix socket; the TCP listener may be bound a moment later.
            try await GatewayBinary.waitUntilListening(on: .loopback(port: port))
            let tcp = HTTPClient(.loopback(port: port))
            let body = String.chatRequest(model: "smart")
            let ok = try await tcp.post("/v1/chat/completions", json: body)
            #expect(ok.status == 200)
            let page = try await tcp.post(
                "/v1/chat/completions", json: body, headers: [("origin", "https://evil.example")])
            #expect(page.status == 403)
            #expect(try isOpenAIError(page))
            let allowed = try await tcp.post(
                "/v1/chat/completions", json: body, headers: [("origin", "http://localhost:3000")])
            #expect(allowed.status == 200)
            // A DNS-rebinding page reaches 127.0.0.1 under its own name.
            let raw = try await blocking {
                let connection = try RawConnection(.loopback(port: port))
                defer { connection.close() }
                let request =
                    "POST /v1/messages HTTP/1.1\r\nhost: rebind.evil.example:\(port)\r\n"
                    + "content-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}"
                try connection.write(Array(request.utf8))
                return try connection.readToEnd(timeoutSeconds: 10)
            }
            let rebound = try HTTPResponse.parse(raw)
            #expect(rebound.status == 403)
            #expect(try isAnthropicError(rebound))
            // A "simple" cross-origin POST without a JSON content type.
            let simple = try await tcp.send(
                "POST", "/v1/chat/completions", headers: [("content-type", "text/plain")], body: Array(body.utf8))
            #expect(simple.status == 415)
            #expect(gateway.mock.stats.requests == 2, "only the two allowed requests reached the provider")
        }
    }

    @Test func peerModeServesOnlyTheAllowedUIDs() async throws {
        var options = GatewayHarness.Options()
        let other = getuid() == 4242 ? 4243 : 4242
        options.auth = ["mode: peer", "peer: { allow_uids: [\(other)], allow_gids: [\(other)] }"]
        try await withGateway(options) { gateway in
            let refused = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
            #expect(refused.status == 403)
            #expect(try isOpenAIError(refused))
            #expect(gateway.mock.stats.requests == 0)
        }
        options.auth = ["mode: peer", "peer: { allow_uids: [\(getuid())] }"]
        try await withGateway(options) { gateway in
            let served = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
            #expect(served.status == 200)
        }
    }

    /// Nobody reads the gateway's stdout: requests are still served; the lines that did not fit are
    /// counted and reported once the reader comes back.
    @Test func aStalledStdoutNeverStallsRequests() async throws {
        var options = GatewayHarness.Options()
        options.stalledStdout = true
        options.log = ["queue_bytes: 8KiB"]
        try await withGateway(options) { gateway in
            // ~300 access lines of ~600 bytes: several times the pipe (64 KiB) and the queue.
            for _ in 0..<30 {
                try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<10 {
                        group.addTask {
                            try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
                                .status
                        }
                    }
                    for try await status in group { #expect(status == 200) }
                }
            }
            let pipe = try #require(gateway.stdoutPipe)
            let reader = pipe.fileHandleForReading
            var text = ""
            let deadline = ContinuousClock.now + .seconds(10)
            // Only whole lines: a read can end in the middle of the report line.
            func reports() -> [Substring] {
                text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
                    .filter { $0.contains("\"msg\":\"log lines dropped\"") }
            }
            while reports().isEmpty && ContinuousClock.now < deadline {
                let data = try await blocking { reader.availableData }
                text += String(decoding: data, as: UTF8.self)
            }
            let reports = reports()
            #expect(!reports.isEmpty, "drops were reported in the log")
            let first =
                try reports.first.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) } as? [String: Any]
            #expect((first?["dropped"] as? Int ?? 0) > 0)
        }
    }
}

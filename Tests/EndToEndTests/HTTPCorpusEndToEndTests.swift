import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Bad input at the HTTP level, over the real Unix socket: each case gets a well-formed 4xx in the
/// client's dialect (OpenAI's shape on `/v1/chat/completions`, Anthropic's on `/v1/messages`) or a
/// clean close, and the gateway keeps serving with bounded memory.
@Suite(.serialized, .timeLimit(.minutes(3))) struct HTTPCorpusEndToEndTests {
    static let chat = Array(String.chatRequest(model: "smart").utf8)
    static let message = Array(#"{"model":"smart","max_tokens":20,"messages":[{"role":"user","content":"Hi"}]}"#.utf8)

    @Test func oversizedHeadersAre431WithAJSONBody() async throws {
        try await withGateway { gateway in
            for path in ["/v1/chat/completions", "/v1/messages"] {
                let head =
                    "POST \(path) HTTP/1.1\r\nhost: localhost\r\nx-filler: \(String(repeating: "a", count: 70_000))\r\n"
                let responses = try await exchange(gateway, Array((head + "content-length: 2\r\n\r\n{}").utf8))
                let response = try #require(responses.first)
                #expect(response.status == 431)
                #expect(try isOpenAIError(response) && isAnthropicError(response), "readable by both SDKs")
            }
            // Many headers, each small, over the limit together.
            var many = "POST /v1/chat/completions HTTP/1.1\r\nhost: localhost\r\n"
            for index in 0..<2000 { many += "x-h\(index): \(String(repeating: "b", count: 40))\r\n" }
            let responses = try await exchange(gateway, Array((many + "\r\n").utf8))
            #expect(responses.first?.status == 431)
            try await expectServing(gateway)
        }
    }

    @Test func oversizedBodiesAre413InTheClientsDialect() async throws {
        try await withGateway { gateway in
            let big = [UInt8](repeating: 0x20, count: 1_100_000)
            let openAI = try await gateway.client.send(
                "POST", "/v1/chat/completions", headers: [("content-type", "application/json")], body: big)
            #expect(openAI.status == 413)
            #expect(try isOpenAIError(openAI))
            let anthropic = try await gateway.client.send(
                "POST", "/v1/messages", headers: [("content-type", "application/json")], body: big)
            #expect(anthropic.status == 413)
            #expect(try isAnthropicError(anthropic))
            // Declared far beyond the limit: answered at once, the body is never read.
            let declared =
                "POST /v1/messages HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n"
                + "content-length: 999999999999\r\n\r\n{"
            let responses = try await exchange(gateway, Array(declared.utf8))
            #expect(responses.first?.status == 413)
            #expect(try responses.first.map(isAnthropicError) == true)
            try await expectServing(gateway)
        }
    }

    @Test func aWrongContentTypeIs415InTheClientsDialect() async throws {
        try await withGateway { gateway in
            for contentType in ["text/plain", "application/x-www-form-urlencoded", nil] {
                let headers = contentType.map { [("content-type", $0)] } ?? []
                let openAI = try await gateway.client.send(
                    "POST", "/v1/chat/completions", headers: headers, body: Self.chat)
                #expect(openAI.status == 415, "\(contentType ?? "none")")
                #expect(try isOpenAIError(openAI))
                let anthropic = try await gateway.client.send(
                    "POST", "/v1/messages", headers: headers, body: Self.message)
                #expect(anthropic.status == 415)
                #expect(try isAnthropicError(anthropic))
            }
            #expect(gateway.mock.stats.requests == 0, "nothing reached the provider")
        }
    }

    @Test func malformedFramingIs400() async throws {
        try await withGateway { gateway in
            let cases: [String] = [
                // chunk sizes that are not hexadecimal, negative, or absurd
                "POST /v1/chat/completions HTTP/1.1\r\nhost: l\r\ncontent-type: application/json\r\n"
                    + "transfer-encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n",
                "POST /v1/messages HTTP/1.1\r\nhost: l\r\ncontent-type: application/json\r\n"
                    + "transfer-encoding: chunked\r\n\r\n-5\r\n{}\r\n0\r\n\r\n",
                "POST /v1/chat/completions HTTP/1.1\r\nhost: l\r\ncontent-type: application/json\r\n"
                    + "transfer-encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\n{}\r\n",
                // both framings at once (request smuggling)
                "POST /v1/chat/completions HTTP/1.1\r\nhost: l\r\ncontent-type: application/json\r\n"
                    + "content-length: 4\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
                // not HTTP at all
                "GARBAGE\r\n\r\n",
                "POST /v1/chat/completions HTTP/9.9\r\n\r\n",
                "\u{0}\u{1}\u{2}\r\n\r\n",
            ]
            for request in cases {
                let responses = try await exchange(gateway, Array(request.utf8))
                let response = try #require(responses.first, "\(request.prefix(40)): no answer")
                #expect(response.status == 400, "\(request.prefix(40)): \(response.status)")
                #expect(try isOpenAIError(response) && isAnthropicError(response), "\(request.prefix(40))")
            }
            try await expectServing(gateway)
        }
    }

    @Test func aValidChunkedBodyIsServed() async throws {
        try await withGateway { gateway in
            let body = String(decoding: Self.chat, as: UTF8.self)
            let half = body.utf8.count / 2
            let first = String(body.prefix(half))
            let second = String(body.dropFirst(half))
            let request =
                "POST /v1/chat/completions HTTP/1.1\r\nhost: l\r\ncontent-type: application/json\r\n"
                + "transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
                + String(first.utf8.count, radix: 16) + "\r\n" + first + "\r\n"
                + String(second.utf8.count, radix: 16) + "\r\n" + second + "\r\n0\r\n\r\n"
            let responses = try await exchange(gateway, Array(request.utf8))
            #expect(responses.first?.status == 200)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        try await withGateway { gateway in
            func request(_ path: String, _ body: [UInt8], close: Bool = false) -> String {
                "POST \(path) HTTP/1.1\r\nhost: l\r\ncontent-type: application/json\r\ncontent-length: \(body.count)\r\n"
                    + (close ? "connection: close\r\n" : "") + "\r\n" + String(decoding: body, as: UTF8.self)
            }
            let bytes =
                request("/v1/chat/completions", Self.chat) + request("/v1/messages", Array("{".utf8))
                + "GET /healthz HTTP/1.1\r\nhost: l\r\n\r\n" + request("/v1/messages", Self.message, close: true)
            let responses = try await exchange(gateway, Array(bytes.utf8))
            #expect(responses.map(\.status) == [200, 400, 200, 200])
            if responses.count == 4 {
                #expect(try responses[0].json()["object"] as? String == "chat.completion")
                #expect(try isAnthropicError(responses[1]))
                #expect(try responses[3].json()["type"] as? String == "message")
            }
        }
    }

    @Test func http10IsServedAndClosed() async throws {
        try await withGateway { gateway in
            let request =
                "POST /v1/chat/completions HTTP/1.0\r\ncontent-type: application/json\r\n"
                + "content-length: \(Self.chat.count)\r\n\r\n" + String(decoding: Self.chat, as: UTF8.self)
            let raw = try await blocking {
                let connection = try RawConnection(.unix(gateway.socketPath))
                defer { connection.close() }
                try connection.write(Array(request.utf8))
                return try connection.readToEnd(timeoutSeconds: 10)  // the gateway closes: HTTP/1.0
            }
            let response = try HTTPResponse.parse(raw)
            #expect(response.status == 200)
            #expect(String(decoding: raw.prefix(8), as: UTF8.self) == "HTTP/1.0")
            // A streamed answer to an HTTP/1.0 client has no chunked framing: it ends with the connection.
            let stream = Array(String.chatRequest(model: "smart", stream: true).utf8)
            let streamRequest =
                "POST /v1/chat/completions HTTP/1.0\r\ncontent-type: application/json\r\n"
                + "content-length: \(stream.count)\r\n\r\n" + String(decoding: stream, as: UTF8.self)
            let streamed = try await blocking {
                let connection = try RawConnection(.unix(gateway.socketPath))
                defer { connection.close() }
                try connection.write(Array(streamRequest.utf8))
                return try connection.readToEnd(timeoutSeconds: 10)
            }
            let text = String(decoding: streamed, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.0 200"))
            #expect(!text.lowercased().contains("transfer-encoding: chunked"))
            #expect(text.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test func aRequestWrittenOneByteAtATimeIsServed() async throws {
        try await withGateway { gateway in
            let request = HTTPClient.requestBytes(
                "POST", "/v1/messages", headers: [("content-type", "application/json")], body: Self.message)
            let raw = try await blocking {
                let connection = try RawConnection(.unix(gateway.socketPath))
                defer { connection.close() }
                for byte in request {
                    try connection.write([byte])
                    usleep(200)
                }
                return try connection.readToEnd(timeoutSeconds: 10)
            }
            let response = try HTTPResponse.parse(raw)
            #expect(response.status == 200)
            #expect(try response.json()["type"] as? String == "message")
        }
    }

    @Test func headersThenSilenceIsClosedAtTheReadTimeout() async throws {
        var options = GatewayHarness.Options()
        options.listen = ["read_timeout: 1s", "idle_timeout: 2s"]
        try await withGateway(options) { gateway in
            let started = ContinuousClock.now
            let raw = try await blocking {
                let connection = try RawConnection(.unix(gateway.socketPath))
                defer { connection.close() }
                try connection.write(
                    Array(
                        "POST /v1/chat/completions HTTP/1.1\r\nhost: l\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"
                            .utf8))
                return try connection.readToEnd(timeoutSeconds: 20)
            }
            #expect(raw.isEmpty, "a request never finished gets no answer, only a close")
            #expect(ContinuousClock.now - started < .seconds(15), "closed by read_timeout, not by the client")
            // A connection that never sends anything is closed at the idle timeout.
            let idle = try await blocking {
                let connection = try RawConnection(.unix(gateway.socketPath))
                defer { connection.close() }
                return try connection.readToEnd(timeoutSeconds: 20)
            }
            #expect(idle.isEmpty)
            #expect(ContinuousClock.now - started < .seconds(20))
            try await expectServing(gateway)
        }
    }

    @Test func abruptResetsLeaveTheGatewayServing() async throws {
        try await withGateway { gateway in
            let head = "POST /v1/chat/completions HTTP/1.1\r\nhost: l\r\ncontent-type: application/json\r\n"
            try await blocking {
                // Reset mid-head, mid-body, and while a stream is being answered.
                for partial in [head, head + "content-length: 500\r\n\r\n{\"model\""] {
                    let connection = try RawConnection(.unix(gateway.socketPath))
                    try connection.write(Array(partial.utf8))
                    connection.reset()
                }
                let stream = Array(String.chatRequest(model: "slow", stream: true).utf8)
                let connection = try RawConnection(.unix(gateway.socketPath))
                try connection.write(
                    HTTPClient.requestBytes(
                        "POST", "/v1/chat/completions", headers: [("content-type", "application/json")], body: stream))
                _ = try connection.read()
                connection.reset()
            }
            try await expectServing(gateway)
            var aborted = false
            for _ in 0..<100 where !aborted {
                aborted = gateway.mock.stats.streamsAbortedByClient > 0
                if !aborted { try await Task.sleep(for: .milliseconds(30)) }
            }
            #expect(aborted, "the reset client's upstream stream was cancelled")
        }
    }

    /// Thousands of bad requests leave the gateway's memory where it was.
    @Test func memoryStaysBoundedUnderBadInput() async throws {
        try await withGateway { gateway in
            let pid = gateway.process.processIdentifier
            let filler = String(repeating: "a", count: 60_000)
            func round() async throws {
                try await blocking {
                    for index in 0..<300 {
                        let connection = try RawConnection(.unix(gateway.socketPath))
                        defer { connection.close() }
                        let bad =
                            index % 2 == 0
                            ? "POST /v1/chat/completions HTTP/1.1\r\nhost: l\r\nx: \(filler)\(filler)\r\n\r\n"
                            : "POST /v1/messages HTTP/1.1\r\nhost: l\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\n{}"
                        try connection.write(Array(bad.utf8))
                        _ = try connection.readToEnd(timeoutSeconds: 10)
                    }
                }
            }
            try await round()
            let warm = try residentKiB(pid)
            try await round()
            try await round()
            let after = try residentKiB(pid)
            #expect(after < warm + 20 * 1024, "RSS grew from \(warm) KiB to \(after) KiB")
            try await expectServing(gateway)
        }
    }
}

// MARK: - Helpers

/// Writes `bytes` on a new connection and parses every response until the gateway closes it.
func exchange(_ gateway: GatewayHarness, _ bytes: [UInt8]) async throws -> [HTTPResponse] {
    let raw = try await blocking {
        let connection = try RawConnection(.unix(gateway.socketPath))
        defer { connection.close() }
        do { try connection.write(bytes) } catch {}  // the gateway may answer and close before reading all
        return try connection.readToEnd(timeoutSeconds: 10)
    }
    return try HTTPResponse.responses(in: raw)
}

func isOpenAIError(_ response: HTTPResponse) throws -> Bool {
    let error = try response.json()["error"] as? [String: Any]
    guard let error else { return false }
    return error["message"] is String && error["type"] is String && error.keys.contains("param")
        && error.keys.contains("code")
}

func isAnthropicError(_ response: HTTPResponse) throws -> Bool {
    let json = try response.json()
    let error = json["error"] as? [String: Any]
    return json["type"] as? String == "error" && error?["type"] is String && error?["message"] is String
}

func expectServing(_ gateway: GatewayHarness, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    #expect(gateway.process.isRunning, "the gateway died", sourceLocation: sourceLocation)
    let health = try await gateway.client.get("/healthz")
    #expect(health.status == 200, sourceLocation: sourceLocation)
    let chat = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
    #expect(chat.status == 200, sourceLocation: sourceLocation)
}

func residentKiB(_ pid: Int32) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
}

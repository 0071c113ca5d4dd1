import GatewayCore
import Testing
import Upstream

@Suite("CurlTransport: requests and responses")
struct CurlTransportTests {
    @Test func getRoundTrip() async throws {
        try await withTransportAndServer(respond: { _ in
            .fixed(
                status: 200, headers: [("X-Test", "yes"), ("Content-Type", "text/plain")], body: Array("hello".utf8))
        }) { transport, server in
            let response = try await transport.send(get(server.url("/v1/models?x=1")))
            #expect(response.status == 200)
            #expect(response.header("x-test") == "yes")
            #expect(response.header("content-type") == "text/plain")
            #expect(response.header("content-length") == "5")
            #expect(response.headers.allSatisfy { $0.name == $0.name.lowercased() })
            let body = try await response.body.collect(upTo: 1024)
            #expect(body == Array("hello".utf8))

            let request = try #require(server.requests.first)
            #expect(request.method == "GET")
            #expect(request.uri == "/v1/models?x=1")
            #expect(request.header("authorization") == "Bearer sk-test-secret")
            // Nothing of libcurl's own beyond Host.
            #expect(request.header("accept") == nil)
            #expect(request.header("user-agent") == nil)
            #expect(request.header("host") == "127.0.0.1:\(server.port ?? 0)")
        }
    }

    @Test func postRoundTrip() async throws {
        let payload = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await withTransportAndServer(respond: { _ in .echo }) { transport, server in
            let request = UpstreamRequest(
                url: server.url("/v1/chat/completions"),
                headers: [
                    ("Authorization", "Bearer sk-test-secret"), ("Content-Type", "application/json"),
                    ("x-first", "1"), ("x-second", "2"), ("x-empty", ""),
                ],
                body: payload, timeouts: relaxedTimeouts)
            let response = try await transport.send(request)
            #expect(response.status == 200)
            #expect(response.header("x-echo-method") == "POST")
            #expect(try await response.body.collect(upTo: 1 << 20) == payload)

            let received = try #require(server.requests.first)
            #expect(received.body == payload)
            #expect(received.header("authorization") == "Bearer sk-test-secret")
            #expect(received.header("content-length") == "\(payload.count)")
            #expect(received.header("expect") == nil)
            #expect(received.header("x-empty") == "")
            let names = received.headers.map { $0.name.lowercased() }
            let first = try #require(names.firstIndex(of: "x-first"))
            let second = try #require(names.firstIndex(of: "x-second"))
            #expect(first < second)
        }
    }

    @Test func otherMethodsAndStatuses() async throws {
        try await withTransportAndServer(respond: { request in
            request.method == "DELETE" ? .fixed(status: 404, body: Array("gone".utf8)) : .echo
        }) { transport, server in
            var request = get(server.url("/thing"))
            request.method = "DELETE"
            let deleted = try await transport.send(request)
            #expect(deleted.status == 404)
            #expect(try await deleted.body.collect(upTo: 100) == Array("gone".utf8))

            request.method = "PUT"
            request.body = Array("put body".utf8)
            let put = try await transport.send(request)
            #expect(put.header("x-echo-method") == "PUT")
            #expect(server.requests.last?.header("content-type") == nil)
            #expect(try await put.body.collect(upTo: 100) == Array("put body".utf8))
        }
    }

    @Test func invalidHeaderValueIsRefusedWithoutEchoingIt() async throws {
        try await withTransport { transport in
            let request = UpstreamRequest(
                url: "http://127.0.0.1:9/", headers: [("Authorization", "Bearer secret\r\nX-Injected: 1")],
                body: [], timeouts: relaxedTimeouts)
            let failure = await failure { () async throws(UpstreamFailure) in _ = try await transport.send(request) }
            #expect(failure?.kind == .other)
            #expect(failure?.detail.contains("secret") == false)
        }
    }

    @Test func unixSocketTransfer() async throws {
        let path = temporarySocketPath()
        try await withTransportAndServer(unixSocket: path, respond: { _ in .fixed(body: Array("over uds".utf8)) }) {
            transport, _ in
            let response = try await transport.send(get("http://localhost/v1/models", unixSocket: path))
            #expect(response.status == 200)
            #expect(try await response.body.collect(upTo: 100) == Array("over uds".utf8))
        }
    }

    @Test func connectionReuse() async throws {
        try await withTransportAndServer(respond: { _ in .fixed(body: Array("ok".utf8)) }) { transport, server in
            for _ in 0..<20 {
                let response = try await transport.send(get(server.url("/")))
                #expect(try await response.body.collect(upTo: 100) == Array("ok".utf8))
            }
            #expect(server.accepted == 1)
            #expect(transport.statistics.connectionsCreated == 1)
            #expect(transport.statistics.transfersCompleted == 20)
        }
    }

    @Test func runShutsDownWhenCancelled() async throws {
        let transport = CurlTransport(logger: testLogger)
        let service = Task { try await transport.run() }
        try await Task.sleep(for: .milliseconds(50))
        service.cancel()
        try await service.value
        let late = await failure { () async throws(UpstreamFailure) in
            _ = try await transport.send(get("http://127.0.0.1:9/"))
        }
        #expect(late?.kind == .cancelled)
    }

    @Test func fiveHundredConcurrentTransfers() async throws {
        try await withTransportAndServer(respond: { request in .fixed(body: Array(request.uri.utf8)) }) {
            transport, server in
            let ok = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<500 {
                    group.addTask {
                        let response = try await transport.send(get(server.url("/\(index)")))
                        let body = try await response.body.collect(upTo: 100)
                        return response.status == 200 && body == Array("/\(index)".utf8)
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(ok == 500)
            #expect(transport.statistics.transfersCompleted == 500)
        }
    }
}

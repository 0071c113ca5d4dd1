import Foundation
import GatewayTesting
import MockProvider
import Testing

/// Fault injection, model suffixes, control endpoints and statistics, over real sockets.
@Suite(.timeLimit(.minutes(1))) struct MockProviderServerTests {
    @Test func statusFaultAppliesNTimesThenBehaves() async throws {
        try await withMock(faults: "status=429x2;retry_after=3") { mock in
            for _ in 0..<2 {
                let limited = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody())
                #expect(limited.status == 429)
                #expect(limited.header("retry-after") == "3")
                let error = try errorObject(limited)
                #expect(error["code"] as? String == "rate_limit_exceeded")
            }
            let normal = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody())
            #expect(normal.status == 200)
            #expect(mock.stats.faultsInjected == 2)
        }
    }

    @Test(arguments: [500, 503])
    func serverErrorsUseTheServerErrorType(status: Int) async throws {
        try await withMock(faults: "status=\(status)") { mock in
            let response = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody())
            #expect(response.status == status)
            #expect(try errorObject(response)["type"] as? String == "server_error")
        }
    }

    @Test func modelSuffixFaultsOnlyThatRequestAndIsStripped() async throws {
        try await withMock { mock in
            let broken = try await exchange(
                mock, "POST", "/v1/chat/completions", body: chatBody(model: "gpt-4o#status=503x1")
            )
            #expect(broken.status == 503)
            let healed = try await exchange(
                mock, "POST", "/v1/chat/completions", body: chatBody(model: "gpt-4o#status=503x1")
            )
            #expect(healed.status == 200)
            #expect(try healed.json()["model"] as? String == "gpt-4o")
            let other = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody(model: "gpt-4o"))
            #expect(other.status == 200)
            let invalid = try await exchange(
                mock, "POST", "/v1/chat/completions", body: chatBody(model: "gpt-4o#nope=1")
            )
            #expect(invalid.status == 400)
            #expect(invalid.text.contains("nope=1"))
        }
    }

    @Test func delayHoldsTheResponseHead() async throws {
        try await withMock(faults: "delay=300ms") { mock in
            let start = ContinuousClock.now
            let response = try await exchange(mock, "GET", "/v1/models")
            #expect(response.status == 200)
            #expect(ContinuousClock.now - start >= .milliseconds(280))
        }
    }

    @Test func chunkDelaySpacesTheEvents() async throws {
        try await withMock(faults: "chunk_delay=40ms") { mock in
            let start = ContinuousClock.now
            let response = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody("a b", stream: true))
            let count = events(response.text).count
            #expect(response.text.hasSuffix("data: [DONE]\n\n"))
            #expect(ContinuousClock.now - start >= .milliseconds(40 * (count - 1) - 10))
        }
    }

    @Test func cutClosesWithoutTerminator() async throws {
        try await withMock(faults: "cut=2") { mock in
            let response = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody(stream: true))
            #expect(response.status == 200)
            #expect(response.ending == .closed)
            #expect(events(response.text).count == 2)
            #expect(!response.text.contains("[DONE]"))
            #expect(mock.stats.streamsCompleted == 0)
            #expect(mock.stats.streamsAbortedByClient == 0)
        }
    }

    @Test func stallKeepsTheConnectionOpenWithoutSending() async throws {
        try await withMock(faults: "stall=1") { mock in
            let response = try await exchange(
                mock, "POST", "/v1/chat/completions", body: chatBody(stream: true), readTimeout: 0.4
            )
            #expect(response.ending == .timedOut)
            #expect(events(response.text).count == 1)
            try await waitFor { mock.stats.streamsAbortedByClient == 1 }
        }
    }

    @Test func resetOnReceiptAndAfterEvents() async throws {
        try await withMock(faults: "reset") { mock in
            let response = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody())
            #expect(response.ending == .reset)
            try mock.setFaults("reset=2")
            let streamed = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody(stream: true))
            #expect(streamed.ending == .reset || streamed.ending == .closed)
            #expect(!streamed.text.contains("[DONE]"))
        }
    }

    @Test func errorEventEndsTheStreamWithoutDone() async throws {
        try await withMock(faults: "error_event=3") { mock in
            let response = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody(stream: true))
            #expect(response.ending == .complete)
            let payloads = events(response.text)
            #expect(payloads.count == 4)
            let error = try #require(try parse(payloads[3])["error"] as? [String: Any])
            #expect(error["type"] as? String == "server_error")
            #expect(!response.text.contains("[DONE]"))
        }
    }

    @Test func probabilityIsDeterministicForASeed() async throws {
        func run() async throws -> [Int] {
            try await withMock(faults: "status=500;p=0.5;seed=7") { mock in
                var statuses: [Int] = []
                for _ in 0..<12 { statuses.append(try await exchange(mock, "GET", "/v1/models").status) }
                return statuses
            }
        }
        let first = try await run()
        #expect(first == (try await run()))
        #expect(first.contains(500) && first.contains(200))
    }

    @Test func invalidFaultsAreRejectedEverywhere() async throws {
        await #expect(throws: MockFaultSpecError.self) {
            _ = try await MockProviderServer.start(.init(faults: "bogus"), on: .tcp(host: "127.0.0.1", port: 0))
        }
        try await withMock { mock in
            #expect(throws: MockFaultSpecError.self) { try mock.setFaults("delay=fast") }
        }
    }

    @Test func controlEndpointsSetFaultsAndReportStats() async throws {
        try await withMock { mock in
            let set = try await exchange(mock, "POST", "/_mock/faults", body: "status=500", key: nil)
            #expect(set.status == 200)
            #expect(try await exchange(mock, "GET", "/v1/models").status == 500)
            let bad = try await exchange(mock, "POST", "/_mock/faults", body: "status=x", key: nil)
            #expect(bad.status == 400)
            #expect(try await exchange(mock, "POST", "/_mock/faults", body: "", key: nil).status == 200)
            #expect(try await exchange(mock, "GET", "/v1/models").status == 200)
            let stats = try await exchange(mock, "GET", "/_mock/stats", key: nil).json()
            #expect(stats["requests"] as? Int == 2)
            #expect((stats["requests_by_path"] as? [String: Int])?["/v1/models"] == 2)
            #expect((stats["recent_requests"] as? [Any])?.count == 2)
            #expect(try await exchange(mock, "POST", "/_mock/reset", key: nil).status == 200)
            #expect(mock.stats.requests == 0)
        }
    }

    @Test func statsRecordTheRequestAsSent() async throws {
        try await withMock { mock in
            _ = try await exchange(
                mock, "POST", "/v1/chat/completions", body: chatBody(model: "gpt-4o"), headers: [("x-trace", "t1")]
            )
            let seen = try #require(mock.stats.recentRequests.last)
            #expect(seen.method == "POST")
            #expect(seen.path == "/v1/chat/completions")
            #expect(seen.header("Authorization") == "Bearer sk-test")
            #expect(seen.header("x-trace") == "t1")
            #expect(seen.bodyText.contains(#""model":"gpt-4o""#))
            #expect(mock.stats.connectionsAccepted >= 1)
        }
    }

    @Test func clientAbortMidStreamIsCounted() async throws {
        // A stream of about 60 pieces 400 ms apart (24 s): a client starved on a loaded machine
        // still closes long before its end; the abort is seen at the next piece.
        let long = Array(repeating: "word", count: 60).joined(separator: " ")
        try await withMock(faults: "chunk_delay=400ms") { mock in
            try await blocking {
                let connection = try RawConnection(server: mock)
                try connection.send("POST", "/v1/chat/completions", body: chatBody(long, stream: true))
                _ = try connection.readResponse { String(decoding: $0, as: UTF8.self).contains(#""content":"#) }
                connection.close()
            }
            try await waitFor { mock.stats.streamsAbortedByClient == 1 }
            #expect(mock.stats.streamsCompleted == 0)
        }
    }

    @Test func keepAliveServesSeveralRequestsOnAUnixSocket() async throws {
        try await withMock(unix: true) { mock in
            #expect(mock.baseURL == "http://localhost/v1")
            let statuses = try await blocking {
                let connection = try RawConnection(server: mock)
                var statuses: [Int] = []
                for stream in [false, true, false] {
                    try connection.send("POST", "/v1/chat/completions", body: chatBody(stream: stream))
                    statuses.append(try connection.readResponse().status)
                }
                return statuses
            }
            #expect(statuses == [200, 200, 200])
            #expect(mock.stats.connectionsAccepted == 1)
            #expect(mock.stats.streamsCompleted == 1)
        }
    }
}

/// Polls `condition` for up to two seconds.
func waitFor(_ condition: () -> Bool) async throws {
    for _ in 0..<100 where !condition() { try await Task.sleep(for: .milliseconds(20)) }
    #expect(condition())
}

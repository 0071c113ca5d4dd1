import GatewayCore
import Testing
import Upstream

@Suite("CurlTransport: streaming, back-pressure and cancellation")
struct CurlTransportStreamingTests {
    static let event = Array("data: {\"x\":1}\n\n".utf8)

    /// The first chunk reaches the caller while the server still holds the rest back (it never
    /// sends more, nor ends): delivery is incremental by construction, with no wall-clock bound
    /// that a loaded machine could miss.
    @Test func chunksArriveIncrementally() async throws {
        try await withTransportAndServer(respond: { _ in .stall(chunks: 1, chunk: Self.event) }) { transport, server in
            let response = try await transport.send(get(server.url("/stream")))
            let first = try await response.body.next()
            #expect(first == Self.event)
            response.body.cancel()
        }
        try await withTransportAndServer(respond: { _ in
            .chunks(count: 5, chunk: Self.event, delay: .milliseconds(20))
        }) { transport, server in
            let response = try await transport.send(get(server.url("/stream")))
            var bytes = 0
            while let chunk = try await response.body.next() { bytes += chunk.count }
            #expect(bytes == 5 * Self.event.count)
        }
    }

    @Test func slowConsumerKeepsBufferBounded() async throws {
        let size = 64 * 1024 * 1024
        try await withTransportAndServer(respond: { _ in .huge(bytes: size) }) { transport, server in
            let response = try await transport.send(get(server.url("/huge")))
            #expect(response.header("content-length") == "\(size)")
            var total = 0
            var chunks = 0
            while let chunk = try await response.body.next() {
                total += chunk.count
                chunks += 1
                // Slow for the first 40 chunks (~0.8 s): the server could send far more meanwhile.
                if chunks <= 40 { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(total == size)
            let peak = transport.statistics.peakBufferedBytes
            #expect(peak > 0)
            #expect(peak < 2 * 1024 * 1024)
        }
    }

    @Test func cancelMidStreamClosesTheConnection() async throws {
        try await withTransportAndServer(respond: { _ in
            .chunks(count: 200, chunk: Self.event, delay: .milliseconds(20))
        }) { transport, server in
            let response = try await transport.send(get(server.url("/stream")))
            _ = try await response.body.next()
            let cancelled = ContinuousClock.now
            response.body.cancel()
            #expect(try await response.body.next() == nil)
            #expect(await eventually { server.closed == 1 })
            #expect(try #require(server.lastClose) - cancelled < .seconds(3))
            #expect(await eventually { transport.statistics.transfersCancelled == 1 })
        }
    }

    @Test func droppingTheBodyClosesTheConnection() async throws {
        try await withTransportAndServer(respond: { _ in
            .chunks(count: 200, chunk: Self.event, delay: .milliseconds(20))
        }) { transport, server in
            do {
                let response = try await transport.send(get(server.url("/stream")))
                _ = try await response.body.next()
            }
            // The body's last reference is gone: the transfer is aborted on the transport's thread,
            // which a loaded CI machine may run late (the stream alone would last 4 s, paused).
            #expect(await eventually(within: .seconds(30)) { server.closed == 1 })
        }
    }

    @Test func taskCancellationDuringSendAborts() async throws {
        try await withTransportAndServer(respond: { _ in .hang }) { transport, server in
            let task = Task { () async throws(UpstreamFailure) -> UpstreamResponse in
                try await transport.send(get(server.url("/hang")))
            }
            #expect(await eventually { server.requests.count == 1 })
            task.cancel()
            let result = await task.result
            guard case .failure(let failure) = result else {
                Issue.record("send succeeded after cancellation")
                return
            }
            #expect((failure as? UpstreamFailure)?.kind == .cancelled)
            #expect(await eventually { server.closed == 1 })
        }
    }

    @Test func taskCancellationDuringNextAborts() async throws {
        try await withTransportAndServer(respond: { _ in
            .stall(chunks: 1, chunk: Self.event)
        }) { transport, server in
            let response = try await transport.send(get(server.url("/stall")))
            _ = try await response.body.next()
            let body = response.body
            let task = Task { () async throws(UpstreamFailure) -> [UInt8]? in try await body.next() }
            try await Task.sleep(for: .milliseconds(100))
            task.cancel()
            guard case .failure(let failure) = await task.result else {
                Issue.record("next() returned after cancellation")
                return
            }
            #expect((failure as? UpstreamFailure)?.kind == .cancelled)
            #expect(await eventually { server.closed == 1 })
        }
    }

    @Test func shutdownAbortsTransfersInFlight() async throws {
        let server = try await TestHTTPServer.start { _ in .hang }
        let transport = CurlTransport(logger: testLogger)
        let task = Task { () async throws(UpstreamFailure) -> UpstreamResponse in
            try await transport.send(get(server.url("/hang")))
        }
        #expect(await eventually { server.requests.count == 1 })
        await transport.shutdown()
        guard case .failure(let aborted) = await task.result else {
            Issue.record("send succeeded after shutdown")
            return
        }
        #expect((aborted as? UpstreamFailure)?.kind == .cancelled)
        let late = await failure { () async throws(UpstreamFailure) in
            _ = try await transport.send(get(server.url("/")))
        }
        #expect(late?.kind == .cancelled)
        #expect(await eventually { server.closed == 1 })
        try await server.stop()
    }
}

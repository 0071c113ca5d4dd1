import GatewayCore
import Testing
import Upstream

@Suite("CurlTransport: failures and timeouts")
struct CurlTransportFailureTests {
    static let event = Array("data: {\"x\":1}\n\n".utf8)

    @Test func connectionRefused() async throws {
        // A port bound but not listening refuses connections, and stays ours for the whole test: a port that
        // was listening and is closed again can be taken by a parallel test's server in between.
        let port = try ClosedLoopbackPort()
        defer { port.release() }
        try await withTransport { transport in
            let failure = await failure { () async throws(UpstreamFailure) in
                _ = try await transport.send(get("http://127.0.0.1:\(port.number)/"))
            }
            #expect(failure?.kind == .connect)
        }
    }

    @Test func missingUnixSocket() async throws {
        try await withTransport { transport in
            let request = get("http://localhost/v1/models", unixSocket: temporarySocketPath())
            let failure = await failure { () async throws(UpstreamFailure) in _ = try await transport.send(request) }
            #expect(failure?.kind == .connect)
        }
    }

    @Test func firstByteTimeout() async throws {
        try await withTransportAndServer(respond: { _ in .hang }) { transport, server in
            var timeouts = relaxedTimeouts
            timeouts.firstByte = .milliseconds(300)
            let start = ContinuousClock.now
            let failure = await failure { () async throws(UpstreamFailure) in
                _ = try await transport.send(get(server.url("/hang"), timeouts: timeouts))
            }
            #expect(failure?.kind == .firstByteTimeout)
            #expect(ContinuousClock.now - start < .seconds(8))
            #expect(await eventually { server.closed == 1 })
        }
    }

    @Test func idleTimeout() async throws {
        try await withTransportAndServer(respond: { _ in .stall(chunks: 1, chunk: Self.event) }) { transport, server in
            var timeouts = relaxedTimeouts
            timeouts.idle = .milliseconds(300)
            let response = try await transport.send(get(server.url("/stall"), timeouts: timeouts))
            #expect(try await response.body.next() == Self.event)
            let failure = await failure { () async throws(UpstreamFailure) in _ = try await response.body.next() }
            #expect(failure?.kind == .idleTimeout)
            #expect(await eventually { server.closed == 1 })
        }
    }

    @Test func idleTimeoutIgnoresAPausedSlowConsumer() async throws {
        let size = 4 * 1024 * 1024
        try await withTransportAndServer(respond: { _ in .huge(bytes: size) }) { transport, server in
            var timeouts = relaxedTimeouts
            timeouts.idle = .milliseconds(200)
            let response = try await transport.send(get(server.url("/huge"), timeouts: timeouts))
            var total = try await response.body.next()?.count ?? 0
            // Far longer than the idle timeout; the transfer sits paused for back-pressure.
            try await Task.sleep(for: .seconds(1))
            while let chunk = try await response.body.next() {
                total += chunk.count
            }
            #expect(total == size)
        }
    }

    @Test func totalTimeout() async throws {
        try await withTransportAndServer(respond: { _ in
            .chunks(count: 100, chunk: Self.event, delay: .milliseconds(50))
        }) { transport, server in
            var timeouts = relaxedTimeouts
            timeouts.total = .milliseconds(400)
            let response = try await transport.send(get(server.url("/stream"), timeouts: timeouts))
            let failure = await failure { () async throws(UpstreamFailure) in
                while try await response.body.next() != nil {}
            }
            #expect(failure?.kind == .totalTimeout)
        }
    }
}

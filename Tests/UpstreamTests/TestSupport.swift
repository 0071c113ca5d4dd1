import Foundation
import GatewayCore
import Logging
import Testing
import Upstream

/// Timeouts generous enough never to fire in a test that is not about them.
let relaxedTimeouts = TimeoutConfiguration(
    connect: .seconds(5), firstByte: .seconds(10), idle: .seconds(10), total: .seconds(30))

/// Runs `body` with a fresh transport and server; always shuts both down.
func withTransportAndServer<T>(
    configuration: CurlTransport.Configuration = .init(),
    unixSocket: String? = nil,
    respond: @escaping @Sendable (RecordedRequest) -> TestResponse,
    _ body: (CurlTransport, TestHTTPServer) async throws -> T
) async throws -> T {
    let server = try await TestHTTPServer.start(unixSocket: unixSocket, respond: respond)
    let transport = CurlTransport(logger: testLogger, configuration: configuration)
    let result: Result<T, any Error>
    do {
        result = .success(try await body(transport, server))
    } catch {
        result = .failure(error)
    }
    await transport.shutdown()
    try await server.stop()
    return try result.get()
}

/// Runs `body` with a fresh transport; always shuts it down.
func withTransport<T>(_ body: (CurlTransport) async throws -> T) async throws -> T {
    let transport = CurlTransport(logger: testLogger)
    let result: Result<T, any Error>
    do {
        result = .success(try await body(transport))
    } catch {
        result = .failure(error)
    }
    await transport.shutdown()
    return try result.get()
}

func get(_ url: String, unixSocket: String? = nil, timeouts: TimeoutConfiguration = relaxedTimeouts)
    -> UpstreamRequest
{
    UpstreamRequest(
        method: "GET", url: url, unixSocket: unixSocket,
        headers: [("Authorization", "Bearer sk-test-secret")], body: [], timeouts: timeouts)
}

/// The failure `body` throws, or nil when it succeeds.
func failure(of body: () async throws(UpstreamFailure) -> Void) async -> UpstreamFailure? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes (a generous cap: a loaded CI machine is
/// slow, and a condition that holds returns at once).
func eventually(within timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// A socket path in the temporary directory that does not exist yet.
func temporarySocketPath() -> String {
    "\(NSTemporaryDirectory())llmgw-upstream-\(UUID().uuidString.prefix(8)).sock"
}

let testLogger = Logger(label: "upstream-tests")

/// A loopback TCP port bound but never listened on: every connection to it is refused, and no other socket can
/// take the port until `release()`.
struct ClosedLoopbackPort: ~Copyable {
    let number: UInt16
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else {
            let code = errno
            close(descriptor)
            throw POSIXError(.init(rawValue: code) ?? .EIO)
        }
        self.descriptor = descriptor
        number = UInt16(bigEndian: address.sin_port)
    }

    func release() { close(descriptor) }
}

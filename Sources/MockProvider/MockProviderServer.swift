import NIOCore
import NIOHTTP1
import NIOPosix

/// A fake provider API server on loopback TCP or a Unix socket, with fault injection and statistics.
///
///     let mock = try await MockProviderServer.start(.init(apiKey: "sk-test"), on: .tcp(host: "127.0.0.1", port: 0))
///     // point a client at mock.baseURL, then read mock.stats
///     try await mock.shutdown()
public final class MockProviderServer: Sendable {
    private let core: MockProviderCore
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel

    /// The bound TCP port, or nil on a Unix socket.
    public let port: Int?
    /// The Unix socket path, or nil on TCP.
    public let socketPath: String?

    private init(core: MockProviderCore, group: MultiThreadedEventLoopGroup, channel: any Channel, socketPath: String?)
    {
        self.core = core
        self.group = group
        self.channel = channel
        self.socketPath = socketPath
        self.port = socketPath == nil ? channel.localAddress?.port : nil
    }

    /// Binds and starts serving. Throws `MockFaultSpecError` for an unreadable `configuration.faults`.
    public static func start(
        _ configuration: MockProviderConfiguration,
        on address: MockListenAddress
    ) async throws -> MockProviderServer {
        let core = try MockProviderCore(configuration: configuration)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, configuration.threads))
        let bootstrap = ServerBootstrap(group: group)
            // A burst of connects (2,000 streams opened at once) must queue, not be refused; the kernel
            // caps this at net.core.somaxconn (4096 on current kernels).
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MockHTTPHandler(core: core))
                }
            }
        do {
            switch address {
            case .tcp(let host, let port):
                let channel = try await bootstrap.bind(host: host, port: port).get()
                return MockProviderServer(core: core, group: group, channel: channel, socketPath: nil)
            case .unix(let path):
                let channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true)
                    .get()
                return MockProviderServer(core: core, group: group, channel: channel, socketPath: path)
            }
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// What a gateway provider's `base_url` would be: `http://127.0.0.1:PORT/v1` for OpenAI (its paths
    /// start after `/v1`), `http://127.0.0.1:PORT` for the other dialects; `http://localhost…` on a Unix socket.
    public var baseURL: String {
        let suffix = core.configuration.dialect == .openai ? "/v1" : ""
        guard let port else { return "http://localhost" + suffix }
        let host = channel.localAddress?.ipAddress ?? "127.0.0.1"
        return (host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)") + suffix
    }

    /// A snapshot of the counters and the most recent requests.
    public var stats: MockStats { core.stats }

    /// Replaces the global faults (empty clears them). Throws `MockFaultSpecError` naming the bad part.
    public func setFaults(_ spec: String) throws {
        try core.setFaults(spec)
    }

    /// Clears the statistics (as `POST /_mock/reset` does).
    public func resetStats() {
        core.resetStats()
    }

    /// Stops listening, closes every connection and removes the socket file.
    public func shutdown() async throws {
        try? await channel.close()
        try await group.shutdownGracefully()
        if let socketPath { unlinkSocket(socketPath) }
    }
}

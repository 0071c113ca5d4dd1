import GatewayCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Pipeline
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP/1.1 front of the gateway: listens on the Unix socket (and optionally loopback TCP),
/// turns each request into a `GatewayRequest` for the pipeline, and drains gracefully: on
/// SIGTERM it stops accepting, closes idle connections, lets in-flight requests and streams
/// finish for up to `drainTimeout`, then removes the socket file.
public final class GatewayServer: Service {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    struct AcceptedConnection: Sendable {
        let channel: Connection
        let peer: PeerCredentials?
    }

    let configuration: ListenConfiguration
    let pipeline: RequestPipeline
    let logger: Logger
    private let group: any EventLoopGroup
    let registry = ConnectionRegistry()

    public init(
        configuration: ListenConfiguration,
        pipeline: RequestPipeline,
        logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.pipeline = pipeline
        self.logger = logger
        self.group = group
    }

    public func run() async throws {
        let listeners = try await bindListeners()
        let socketPath = configuration.socket
        defer { UnixSocketFile.remove(socketPath) }
        var endpoints = ["unix:\(socketPath)"]
        if let tcp = configuration.tcp { endpoints.append("tcp:\(tcp)") }
        logger.info("listening", metadata: ["endpoints": .array(endpoints.map { .string($0) })])

        let drainTimeout = configuration.drainTimeout
        let registry = self.registry
        let pipeline = self.pipeline
        let logger = self.logger
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await withDiscardingTaskGroup { group in
                    for listener in listeners {
                        group.addTask { await self.accept(on: listener) }
                    }
                }
            } onCancel: {
                for listener in listeners { listener.channel.close(promise: nil) }
                registry.closeAll()
            }
        } onGracefulShutdown: {
            logger.info("draining", metadata: ["open_connections": "\(registry.count)"])
            pipeline.beginDraining()
            for listener in listeners { listener.channel.close(promise: nil) }
            registry.beginDraining()
            Task {
                try? await Task.sleep(for: drainTimeout)
                if registry.count > 0 {
                    logger.warning(
                        "drain timeout reached, closing connections", metadata: ["open": "\(registry.count)"])
                    registry.closeAll()
                }
            }
        }
        logger.info("stopped")
    }

    private func bindListeners() async throws -> [NIOAsyncChannel<AcceptedConnection, Never>] {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
        try UnixSocketFile.prepare(configuration.socket)
        var listeners = [
            try await bootstrap.bind(unixDomainSocketPath: configuration.socket) { channel in
                self.initialize(channel, unixSocket: true)
            }
        ]
        try UnixSocketFile.setMode(configuration.socket, mode: configuration.socketMode)
        if let tcp = configuration.tcp {
            do {
                listeners.append(
                    try await bootstrap.bind(host: tcp.host, port: tcp.port) { channel in
                        self.initialize(channel, unixSocket: false)
                    }
                )
            } catch {
                listeners[0].channel.close(promise: nil)
                UnixSocketFile.remove(configuration.socket)
                throw error
            }
        }
        return listeners
    }

    private func initialize(_ channel: any Channel, unixSocket: Bool) -> EventLoopFuture<AcceptedConnection> {
        let peer: EventLoopFuture<PeerCredentials?>
        if unixSocket, let provider = channel as? any SocketOptionProvider {
            // 17 is SO_PEERCRED, which Glibc's Swift overlay does not export.
            peer = provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(17))
                .map { (credentials: LinuxPeerCredentials) -> PeerCredentials? in
                    PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid)
                }
                .recover { _ in nil }
        } else {
            peer = channel.eventLoop.makeSucceededFuture(nil)
        }
        let readTimeout = TimeAmount(configuration.readTimeout)
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        return peer.flatMapThrowing { peer in
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: true,
                withErrorHandling: true
            )
            try channel.pipeline.syncOperations.addHandler(
                RequestTimeoutHandler(readTimeout: readTimeout, idleTimeout: idleTimeout)
            )
            let connection = try Connection(wrappingChannelSynchronously: channel)
            return AcceptedConnection(channel: connection, peer: peer)
        }
    }

    private func accept(on listener: NIOAsyncChannel<AcceptedConnection, Never>) async {
        await withDiscardingTaskGroup { connections in
            do {
                try await listener.executeThenClose { inbound in
                    for try await accepted in inbound {
                        connections.addTask { await self.serve(accepted) }
                    }
                }
            } catch {
                logger.debug("listener closed", metadata: ["error": "\(error)"])
            }
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// The layout of Linux's `struct ucred` (which Glibc's Swift overlay does not export).
struct LinuxPeerCredentials: Sendable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}

import GatewayCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Pipeline
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP/1.1 front of the gateway: listens on the Unix socket (and optionally loopback TCP),
/// turns each request into a `GatewayRequest` for the pipeline, and drains gracefully: on
/// SIGTERM it stops accepting, removes its socket file (a successor may start at once), closes idle
/// connections, lets in-flight requests and streams finish for up to `drainTimeout` (responses say
/// `connection: close`), then ends the streams still running with their dialect's in-band error
/// event and closes what is left.
///
/// Under systemd socket activation (`inheritedSocket`) it serves on the socket the service manager
/// passed instead of binding `listen.socket`: that socket's file, mode and group belong to the
/// socket unit, so the server never claims, chmods or removes it, and a drain only stops accepting
/// (connections arriving meanwhile wait in the socket's queue for the successor). With a
/// `notifier` it reports `READY=1` once it listens and `STOPPING=1` when it drains.
public final class GatewayServer: Service {
    /// What the listeners serve: the API (`listen:`), or only `/metrics`, `/healthz` and
    /// `/readyz` (`admin:`; an empty socket path then means TCP only).
    public enum Role: Sendable {
        case data, admin
    }

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    struct AcceptedConnection: Sendable {
        let channel: Connection
        let peer: PeerCredentials?
        /// False on the loopback TCP listener.
        let unixSocket: Bool
    }

    let configuration: ListenConfiguration
    let pipeline: RequestPipeline
    /// Connections set up but not yet handed to `serve`, finished if they never are.
    let undelivered = UndeliveredConnections()
    let logger: Logger
    private let group: any EventLoopGroup
    let registry = ConnectionRegistry()
    let frontDoor: FrontDoorPolicy
    /// The listening socket systemd passed, served instead of `configuration.socket`.
    let inheritedSocket: InheritedSocket?
    let notifier: ServiceManagerNotifier?
    let role: Role

    public init(
        configuration: ListenConfiguration,
        pipeline: RequestPipeline,
        logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        inheritedSocket: InheritedSocket? = nil,
        notifier: ServiceManagerNotifier? = nil,
        role: Role = .data
    ) {
        self.role = role
        self.configuration = configuration
        self.inheritedSocket = inheritedSocket
        self.notifier = notifier
        self.frontDoor = FrontDoorPolicy(configuration: configuration)
        self.pipeline = pipeline
        self.logger = logger
        self.group = group
    }

    public func run() async throws {
        let source: UnixListenerSource? =
            if let inheritedSocket { .inherited(inheritedSocket) } else if configuration.socket.isEmpty { nil } else {
                .claimed(try UnixSocketFile.claim(configuration.socket))
            }
        let socketFile = source?.claimedFile
        defer { socketFile?.release() }
        let listeners = try await bindListeners(source)
        var endpoints = source.map { ["unix:\($0.path)"] } ?? []
        if let tcp = configuration.tcp { endpoints.append("tcp:\(tcp)") }
        var metadata: Logger.Metadata = ["endpoints": .array(endpoints.map { .string($0) })]
        if role == .admin { metadata["serves"] = "/metrics, /healthz, /readyz" }
        if let inheritedSocket {
            metadata["inherited_fd"] = "\(inheritedSocket.descriptor)"
            if inheritedSocket.path != configuration.socket {
                metadata["note"] =
                    "listen.socket (\(configuration.socket)) is not used: serving on the socket systemd passed"
            }
        }
        logger.info(role == .admin ? "admin listening" : "listening", metadata: metadata)
        let notifier = self.notifier
        notifier?.ready(status: "serving on \(endpoints.joined(separator: ", "))")

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
            notifier?.stopping(status: "draining \(registry.count) connections")
            pipeline.beginDraining()
            for listener in listeners.dropFirst(source == nil ? 0 : 1) { listener.channel.close(promise: nil) }
            // NIO unlinks a Unix listener's path when it closes: release the claim (and let a
            // successor bind) only after that, so the unlink can never hit the successor's socket.
            // An inherited socket is never unlinked: its file is the socket unit's.
            if source != nil { listeners[0].channel.close().whenComplete { _ in socketFile?.release() } }
            registry.beginDraining()
            Task {
                try? await Task.sleep(for: drainTimeout)
                guard registry.count > 0 else { return }
                logger.warning(
                    "drain timeout reached, cutting streams and closing connections",
                    metadata: ["open": "\(registry.count)", "in_flight": "\(registry.requestsInFlight)"])
                // Streams end with their dialect's in-band error event; give the writes a moment.
                pipeline.cutStreams()
                for _ in 0..<20 where registry.requestsInFlight > 0 {
                    try? await Task.sleep(for: .milliseconds(50))
                }
                registry.closeAll()
            }
        }
        logger.info("stopped")
    }

    /// Binds the Unix listener through `socketFile`, or adopts the inherited socket when there is
    /// none (same options and handlers either way), then the optional TCP listener.
    private func bindListeners(_ source: UnixListenerSource?) async throws -> [NIOAsyncChannel<
        AcceptedConnection, Never
    >] {
        let bootstrap = ServerBootstrap(group: group)
            // A burst of connects (2,000 streams opened at once) must queue, not be refused; the kernel
            // caps this at net.core.somaxconn (4096 on current kernels).
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
        var listeners: [NIOAsyncChannel<AcceptedConnection, Never>] = []
        switch source {
        case nil:
            break
        case .claimed(let socketFile):
            listeners = [
                try await socketFile.bind(mode: configuration.socketMode, group: configuration.socketGroup) {
                    try await bootstrap.bind(unixDomainSocketPath: socketFile.path) { channel in
                        self.initialize(channel, unixSocket: true)
                    }
                }
            ]
        case .inherited(let socket):
            listeners = [
                try await bootstrap.bind(socket.descriptor) { channel in
                    self.initialize(channel, unixSocket: true)
                }
            ]
        }
        if let tcp = configuration.tcp {
            do {
                listeners.append(
                    try await bootstrap.bind(host: tcp.host, port: tcp.port) { channel in
                        self.initialize(channel, unixSocket: false)
                    }
                )
            } catch {
                try? await listeners.first?.channel.close()  // before `release` (see the drain)
                throw error
            }
        }
        return listeners
    }

    private func initialize(_ channel: any Channel, unixSocket: Bool) -> EventLoopFuture<AcceptedConnection> {
        let peer: EventLoopFuture<PeerCredentials?>
        if unixSocket, let provider = channel as? any SocketOptionProvider {
            // 17 is SO_PEERCRED and 59 SO_PEERGROUPS, which Glibc's Swift overlay does not export.
            let level = SocketOptionLevel(SOL_SOCKET)
            let groups = provider.unsafeGetSocketOption(level: level, name: SocketOptionName(59))
                .map { (list: PeerGroupList) in list.groups }
                .recover { _ in [] }  // more groups than the list holds, or an old kernel: the primary only
            peer = provider.unsafeGetSocketOption(level: level, name: SocketOptionName(17))
                .and(groups)
                .map { (credentials: LinuxPeerCredentials, groups: [UInt32]) -> PeerCredentials? in
                    PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid, groups: groups)
                }
                .recover { _ in nil }
        } else {
            peer = channel.eventLoop.makeSucceededFuture(nil)
        }
        let readTimeout = TimeAmount(configuration.readTimeout)
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        let writeTimeout = TimeAmount(configuration.writeTimeout)
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = configuration.maxHeaderBytes
        limits.maxHeaderFieldSize = configuration.maxHeaderBytes
        limits.maxHeaderFieldCount = 1000
        return peer.flatMapThrowing { [limits] peer in
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                withPipeliningAssistance: true,
                withErrorHandling: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits
            )
            try channel.pipeline.syncOperations.addHandler(ProtocolErrorHandler())
            try channel.pipeline.syncOperations.addHandler(
                RequestTimeoutHandler(readTimeout: readTimeout, idleTimeout: idleTimeout, writeTimeout: writeTimeout)
            )
            let connection = try Connection(wrappingChannelSynchronously: channel)
            self.undelivered.add(connection)
            return AcceptedConnection(channel: connection, peer: peer, unixSocket: unixSocket)
        }
    }

    private func accept(on listener: NIOAsyncChannel<AcceptedConnection, Never>) async {
        await withDiscardingTaskGroup { connections in
            do {
                try await listener.executeThenClose { inbound in
                    for try await accepted in inbound {
                        undelivered.remove(accepted.channel)
                        connections.addTask { await self.serve(accepted) }
                    }
                }
            } catch {
                logger.debug("listener closed", metadata: ["error": "\(error)"])
            }
            // A connection accepted as the listener closed may never reach the loop: finish and
            // close it (NIO traps on an async channel dropped unfinished).
            undelivered.closeAll()
        }
    }
}

/// Where the Unix listener comes from: a path this process claims and binds, or a listening
/// socket the service manager passed.
enum UnixListenerSource {
    case claimed(UnixSocketFile)
    case inherited(InheritedSocket)

    var claimedFile: UnixSocketFile? {
        if case .claimed(let file) = self { file } else { nil }
    }

    var path: String {
        switch self {
        case .claimed(let file): file.path
        case .inherited(let socket): socket.path
        }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        // Saturating: a configured `1000000d` must not trap on every connection.
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflowAgain) = whole.addingReportingOverflow(attoseconds / 1_000_000_000)
        self = .nanoseconds(overflow || overflowAgain ? (seconds < 0 ? .min : .max) : total)
    }
}

/// The layout of Linux's `struct ucred` (which Glibc's Swift overlay does not export).
struct LinuxPeerCredentials: Sendable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}

/// The supplementary groups of the peer (SO_PEERGROUPS) in a fixed buffer of 64: NIO zero-fills
/// what the kernel does not write and does not report the length, so zeros are taken as unused
/// (group 0 then matches only as the primary group). A peer with more groups fails the call
/// (ERANGE) and is matched by its primary group alone.
struct PeerGroupList: Sendable {
    var storage: InlineArray<64, UInt32> = .init(repeating: 0)

    var groups: [UInt32] {
        var groups: [UInt32] = []
        for index in storage.indices where storage[index] != 0 { groups.append(storage[index]) }
        return groups
    }
}

/// Async channels NIO has set up for accepted connections that the accept loop has not taken
/// yet. A connection accepted just as its listener closes is never delivered; dropping its async
/// channel unfinished would trap, so the accept loop finishes and closes what is left, and any set
/// up after that is closed at once.
final class UndeliveredConnections: Sendable {
    private let state = Mutex<(open: [ObjectIdentifier: GatewayServer.Connection], closed: Bool)>(([:], false))

    func add(_ connection: GatewayServer.Connection) {
        let closeNow = state.withLock { state -> Bool in
            if state.closed { return true }
            state.open[ObjectIdentifier(connection.channel)] = connection
            return false
        }
        if closeNow { Self.close(connection) }
    }

    func remove(_ connection: GatewayServer.Connection) {
        _ = state.withLock { $0.open.removeValue(forKey: ObjectIdentifier(connection.channel)) }
    }

    func closeAll() {
        let left = state.withLock { state -> [GatewayServer.Connection] in
            state.closed = true
            defer { state.open.removeAll() }
            return Array(state.open.values)
        }
        for connection in left { Self.close(connection) }
    }

    /// `executeThenClose` finishes the outbound writer and closes the channel.
    private static func close(_ connection: GatewayServer.Connection) {
        Task { try? await connection.executeThenClose { _, _ in } }
    }
}

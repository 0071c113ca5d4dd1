import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One request as the test server received it.
struct RecordedRequest: Sendable {
    var method: String
    var uri: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// What the test server does with a request.
enum TestResponse: Sendable {
    /// A complete response with `content-length`.
    case fixed(status: Int = 200, headers: [(String, String)] = [], body: [UInt8] = [])
    /// 200 with the request body as the response body and the method in `x-echo-method`.
    case echo
    /// A chunked response: `count` chunks of `chunk`, one every `delay`.
    case chunks(count: Int, chunk: [UInt8], delay: TimeAmount)
    /// `bytes` bytes with `content-length`, written as fast as the client takes them.
    case huge(bytes: Int)
    /// Reads the request and never answers.
    case hang
    /// A chunked head and `chunks` chunks of `chunk`, then silence.
    case stall(chunks: Int, chunk: [UInt8])
    /// A chunked head and `first` at once; `rest` and the end once `gate` is opened.
    case held(first: [UInt8], rest: [UInt8], gate: TestGate)
}

/// Holds responses back until the test opens it (once; later waiters run at once).
final class TestGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [@Sendable () -> Void])>((false, []))

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter() }
    }

    func whenOpen(_ body: @escaping @Sendable () -> Void) {
        let open = state.withLock { state in
            if !state.open { state.waiters.append(body) }
            return state.open
        }
        if open { body() }
    }
}

/// A loopback HTTP/1.1 server for the transport tests: canned answers, streams, stalls, and a
/// record of connections accepted and closed.
final class TestHTTPServer: Sendable {
    struct Events {
        var accepted = 0
        var closed = 0
        var lastClose: ContinuousClock.Instant?
        var requests: [RecordedRequest] = []
        var children: [ObjectIdentifier: any Channel] = [:]
    }

    private let channel: any Channel
    private let box: EventsBox
    /// The TCP port, or nil for a Unix socket server.
    let port: Int?

    private init(channel: any Channel, box: EventsBox) {
        self.channel = channel
        self.box = box
        self.port = channel.localAddress?.port
    }

    /// Starts a server on 127.0.0.1 (an ephemeral port) or on `unixSocket`.
    static func start(
        unixSocket: String? = nil,
        respond: @escaping @Sendable (RecordedRequest) -> TestResponse
    ) async throws -> TestHTTPServer {
        let box = EventsBox()
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(TestHTTPHandler(events: box, respond: respond))
                }
            }
        let channel: any Channel
        if let unixSocket {
            channel = try await bootstrap.bind(unixDomainSocketPath: unixSocket, cleanupExistingSocketFile: true).get()
        } else {
            channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        }
        return TestHTTPServer(channel: channel, box: box)
    }

    func url(_ path: String) -> String {
        "http://127.0.0.1:\(port ?? 0)\(path)"
    }

    var accepted: Int { box.events.withLock { $0.accepted } }
    var closed: Int { box.events.withLock { $0.closed } }
    var lastClose: ContinuousClock.Instant? { box.events.withLock { $0.lastClose } }
    var requests: [RecordedRequest] { box.events.withLock { $0.requests } }

    /// Closes the listener and every open connection.
    func stop() async throws {
        try await channel.close()
        let children = box.events.withLock { Array($0.children.values) }
        for child in children {
            try? await child.close()
        }
    }
}

/// Lets the per-connection handlers share the server's events.
final class EventsBox: Sendable {
    let events = Mutex(TestHTTPServer.Events())
}

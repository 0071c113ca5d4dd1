import CCurl
import GatewayCore
import Logging
import ServiceLifecycle

/// libcurl's `curl_global_init`, run once per process before the first handle is made.
private let curlGlobalInit: CURLcode = curl_global_init(llmgw_global_default())

/// The `UpstreamTransport` over libcurl.
///
/// One dedicated thread owns one multi handle, so every transfer shares its connection cache
/// (no new TCP or TLS handshake per request to the same host). Callers never block on curl: `send`
/// queues the request for that thread and suspends until the response head has arrived.
///
/// - The thread starts in `init`; the transport works without being run as a `Service`.
///   `run()` waits for graceful shutdown (or cancellation) and then calls `shutdown()`, which
///   aborts the transfers still running and waits for the thread to end. Dropping the transport
///   also ends the thread, without waiting.
/// - Back-pressure: a transfer whose unconsumed body passes `Configuration.highWaterMark` is
///   paused, and resumed once the consumer drains it below `lowWaterMark`.
/// - Cancellation: `UpstreamBody.cancel()`, dropping the body, or cancelling the task awaiting
///   `send` or `next()` aborts the transfer and closes its connection.
public final class CurlTransport: UpstreamTransport, Service {
    private let inbox = CurlLoopInbox()
    private let statisticsBox = CurlStatisticsBox()
    private let configuration: Configuration
    private let logger: Logger

    public init(logger: Logger, configuration: Configuration = .init()) {
        precondition(curlGlobalInit == CURLE_OK, "curl_global_init failed: \(CurlFailure.describe(curlGlobalInit))")
        self.configuration = configuration
        self.logger = logger
        CurlThread.start { [inbox, statisticsBox] in
            CurlLoop.run(inbox: inbox, configuration: configuration, statistics: statisticsBox, logger: logger)
        }
    }

    deinit {
        inbox.enqueue(.shutdown)
    }

    /// Sends `request` and returns once the response head (status and headers) has arrived.
    /// Throws `UpstreamFailure` for anything that goes wrong before that.
    public func send(_ request: UpstreamRequest) async throws(UpstreamFailure) -> UpstreamResponse {
        try Self.validate(request)
        let exchange = CurlExchange(
            inbox: inbox,
            highWaterMark: configuration.highWaterMark,
            lowWaterMark: configuration.lowWaterMark
        )
        return try await exchange.start(request)
    }

    /// Counters since the transport started.
    public var statistics: Statistics { statisticsBox.current }

    /// Runs until graceful shutdown or cancellation, then shuts the transport down.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Aborts every transfer (their waiters fail with `.cancelled`), stops the curl thread and
    /// returns once it has ended. Later `send` calls fail with `.cancelled`. Safe to call more than once.
    public func shutdown() async {
        inbox.enqueue(.shutdown)
        await inbox.waitForExit()
    }

    /// Refuses what libcurl would send wrongly: a method that is not a token, and header names
    /// or values that could split the request. Details name the header, never its value.
    private static func validate(_ request: UpstreamRequest) throws(UpstreamFailure) {
        guard !request.method.isEmpty, request.method.utf8.allSatisfy(isTokenByte) else {
            throw UpstreamFailure(.other, "invalid request method")
        }
        for header in request.headers {
            guard !header.name.isEmpty, header.name.utf8.allSatisfy(isTokenByte) else {
                throw UpstreamFailure(.other, "invalid request header name")
            }
            guard !header.value.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D }) else {
                throw UpstreamFailure(.other, "invalid value for request header \(header.name)")
            }
        }
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }
}

extension CurlTransport {
    public struct Configuration: Sendable {
        /// Pause a transfer once this many received bytes wait for the consumer.
        public var highWaterMark: Int
        /// Resume a paused transfer once the consumer drained it to this many bytes.
        public var lowWaterMark: Int
        /// Idle connections the multi handle keeps for reuse (`CURLMOPT_MAXCONNECTS`).
        public var maximumCachedConnections: Int
        /// Connections per host (`CURLMOPT_MAX_HOST_CONNECTIONS`); 0 means no limit.
        public var maximumConnectionsPerHost: Int
        /// libcurl's receive buffer per transfer (`CURLOPT_BUFFERSIZE`), the largest chunk delivered.
        public var receiveBufferSize: Int
        /// TCP keepalive: idle time before the first probe, and the interval between probes.
        public var tcpKeepAliveIdle: Duration
        public var tcpKeepAliveInterval: Duration

        public init(
            highWaterMark: Int = 256 * 1024,
            lowWaterMark: Int = 64 * 1024,
            maximumCachedConnections: Int = 256,
            maximumConnectionsPerHost: Int = 0,
            receiveBufferSize: Int = 64 * 1024,
            tcpKeepAliveIdle: Duration = .seconds(30),
            tcpKeepAliveInterval: Duration = .seconds(15)
        ) {
            self.highWaterMark = highWaterMark
            self.lowWaterMark = lowWaterMark
            self.maximumCachedConnections = maximumCachedConnections
            self.maximumConnectionsPerHost = maximumConnectionsPerHost
            self.receiveBufferSize = receiveBufferSize
            self.tcpKeepAliveIdle = tcpKeepAliveIdle
            self.tcpKeepAliveInterval = tcpKeepAliveInterval
        }
    }

    /// Counters for tests and metrics.
    public struct Statistics: Sendable, Equatable {
        /// Transfers handed to libcurl.
        public var transfersStarted = 0
        /// Transfers that received the whole response.
        public var transfersCompleted = 0
        /// Transfers that failed (connect, timeout, reset, ...).
        public var transfersFailed = 0
        /// Transfers aborted because the consumer gave up or the transport shut down.
        public var transfersCancelled = 0
        /// New connections opened (`CURLINFO_NUM_CONNECTS` summed); reuse adds nothing.
        public var connectionsCreated = 0
        /// The most bytes any one transfer held waiting for its consumer.
        public var peakBufferedBytes = 0

        public init() {}
    }
}

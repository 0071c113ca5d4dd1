/// The port through which the pipeline talks to providers. `Upstream` implements it with libcurl;
/// tests may implement it in memory.
///
/// `send` returns once the response head has arrived (or throws an `UpstreamFailure`). The body
/// is then pulled chunk by chunk from `UpstreamResponse.body`; pulling slowly slows the transfer
/// (back-pressure), and `cancel()` — or cancelling the task that awaits `next()` — aborts it at once.
public protocol UpstreamTransport: Sendable {
    func send(_ request: UpstreamRequest) async throws(UpstreamFailure) -> UpstreamResponse
}

public struct UpstreamRequest: Sendable {
    public var method: String
    /// Absolute URL (`https://api.openai.com/v1/chat/completions`).
    public var url: String
    /// Connect through this Unix socket instead of resolving the URL's host.
    public var unixSocket: String?
    /// Send through this HTTP(S) proxy (`http://host:port`). Without one the transport connects
    /// directly and ignores `https_proxy`, `http_proxy`, `ALL_PROXY` and `NO_PROXY`.
    public var proxy: String?
    /// Header names and values, in order. The transport adds none of its own except
    /// `Content-Length` / `Host`; it removes `Expect`.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var timeouts: TimeoutConfiguration
    /// Sign with AWS SigV4 at send time, after every header is set (Bedrock without an API key).
    public var awsSigning: AWSSigningScope?

    public init(
        method: String = "POST",
        url: String,
        unixSocket: String? = nil,
        proxy: String? = nil,
        headers: [(name: String, value: String)],
        body: [UInt8],
        timeouts: TimeoutConfiguration
    ) {
        self.method = method
        self.url = url
        self.unixSocket = unixSocket
        self.proxy = proxy
        self.headers = headers
        self.body = body
        self.timeouts = timeouts
    }
}

public struct UpstreamResponse: Sendable {
    public var status: Int
    /// Response headers with lower-cased names, in order.
    public var headers: [(name: String, value: String)]
    public var body: any UpstreamBody

    public init(status: Int, headers: [(name: String, value: String)], body: any UpstreamBody) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }
}

/// A response body being received. One consumer; chunks arrive in order.
public protocol UpstreamBody: AnyObject, Sendable {
    /// The next chunk, or nil at the end of the body. Throws `UpstreamFailure` when the transfer
    /// fails midway (reset, idle or total timeout). Task cancellation aborts the transfer and throws
    /// `UpstreamFailure(.cancelled)`.
    func next() async throws(UpstreamFailure) -> [UInt8]?
    /// Aborts the transfer; later `next()` calls return nil. Safe to call more than once.
    func cancel()
}

extension UpstreamBody {
    /// Reads the whole remaining body, failing with `UpstreamFailure(.tooLarge)` past `limit` bytes.
    public func collect(upTo limit: Int) async throws(UpstreamFailure) -> [UInt8] {
        var all: [UInt8] = []
        while let chunk = try await next() {
            all.append(contentsOf: chunk)
            if all.count > limit {
                cancel()
                throw UpstreamFailure(.tooLarge, "response body over \(limit) bytes")
            }
        }
        return all
    }
}

/// Why an upstream attempt failed before or during the body. `detail` is for logs and error
/// messages: it never contains a key or a request body.
public struct UpstreamFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// DNS resolution failed.
        case dns
        /// TCP connect refused or unreachable (also a missing Unix socket).
        case connect
        case tls
        case connectTimeout = "connect_timeout"
        case firstByteTimeout = "first_byte_timeout"
        case idleTimeout = "idle_timeout"
        case totalTimeout = "total_timeout"
        /// The connection was reset or closed before the response was complete.
        case reset
        /// A response too large to buffer.
        case tooLarge = "too_large"
        /// The consumer gave up (client went away).
        case cancelled
        /// Anything else the transport reports.
        case other
    }

    public let kind: Kind
    public let detail: String

    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var isTimeout: Bool {
        switch kind {
        case .connectTimeout, .firstByteTimeout, .idleTimeout, .totalTimeout: true
        default: false
        }
    }

    public var description: String { "\(kind.rawValue): \(detail)" }
}

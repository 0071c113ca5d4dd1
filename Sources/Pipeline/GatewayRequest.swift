/// A complete HTTP request as the server hands it to the pipeline. Header names are lower-cased.
public struct GatewayRequest: Sendable {
    public var method: String
    /// The path without its query string.
    public var path: String
    public var query: String?
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// When the request head arrived (start of the latency clock).
    public var receivedAt: ContinuousClock.Instant
    /// The connected process, for Unix-socket callers (SO_PEERCRED).
    public var peer: PeerCredentials?

    public init(
        method: String,
        path: String,
        query: String? = nil,
        headers: [(name: String, value: String)],
        body: [UInt8],
        receivedAt: ContinuousClock.Instant = .now,
        peer: PeerCredentials? = nil
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.receivedAt = receivedAt
        self.peer = peer
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }
}

/// Who is on the other end of a Unix socket connection.
public struct PeerCredentials: Sendable, Equatable {
    public var pid: Int32
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary groups (SO_PEERGROUPS), as far as the server could read them.
    public var groups: [UInt32]

    public init(pid: Int32, uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }
}

/// How the pipeline answers. The server implements it over its connection; writes wait while the
/// client is slow (back-pressure) and throw once the client has gone away.
public protocol ResponseWriter: Sendable {
    /// A whole response in one go (head, body with `content-length`, end).
    func writeComplete(status: Int, headers: [(name: String, value: String)], body: [UInt8]) async throws
    /// Starts a streamed response (chunked transfer encoding).
    func writeHead(status: Int, headers: [(name: String, value: String)]) async throws
    func writeBodyPart(_ bytes: [UInt8]) async throws
    func end() async throws
}

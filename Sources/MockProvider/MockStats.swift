/// A snapshot of what a mock server has seen since it started (or since `POST /_mock/reset`).
/// Control requests under `/_mock/` are not counted.
public struct MockStats: Sendable {
    /// API requests received (any path, any outcome).
    public var requests: Int = 0
    /// API requests per path (query excluded).
    public var requestsByPath: [String: Int] = [:]
    public var connectionsAccepted: Int = 0
    /// Requests that got at least one injected fault.
    public var faultsInjected: Int = 0
    public var streamsStarted: Int = 0
    /// Streams whose last byte (the terminator included) was written.
    public var streamsCompleted: Int = 0
    /// Streams the client closed before the mock finished sending them.
    public var streamsAbortedByClient: Int = 0
    /// Non-stream responses the client closed before they were sent (e.g. during a `delay`).
    public var responsesAbortedByClient: Int = 0
    /// The most recent requests, oldest first.
    public var recentRequests: [MockObservedRequest] = []

    public init() {}
}

/// One request as the mock received it.
public struct MockObservedRequest: Sendable {
    public var method: String
    /// The request target as sent, query included.
    public var uri: String
    /// The path without the query.
    public var path: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, uri: String, path: String, headers: [(name: String, value: String)], body: [UInt8]) {
        self.method = method
        self.uri = uri
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name.lowercased() == lowered }?.value
    }

    /// The body as UTF-8 text.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// A deliberately small HTTP/1.1 client over `RawConnection`: each request on a new connection
/// (`connection: close`), read to the end, on a thread of its own.
public struct HTTPClient: Sendable {
    public let endpoint: TestEndpoint

    public init(_ endpoint: TestEndpoint) {
        self.endpoint = endpoint
    }

    public init(socketPath: String) {
        self.init(.unix(socketPath))
    }

    public func post(_ path: String, json: String, headers: [(String, String)] = []) async throws -> HTTPResponse {
        try await send("POST", path, headers: [("content-type", "application/json")] + headers, body: Array(json.utf8))
    }

    public func get(_ path: String) async throws -> HTTPResponse {
        try await send("GET", path, headers: [], body: [])
    }

    /// Sends one request and reads the whole response (the server closes after it).
    public func send(
        _ method: String, _ path: String, headers: [(String, String)], body: [UInt8]
    ) async throws -> HTTPResponse {
        try HTTPResponse.parse(try await sendAndHangUp(method, path, headers: headers, body: body) { _ in false })
    }

    /// Sends a request and reads the response head plus body bytes until `stopAfter` returns true
    /// for the bytes received so far (or the server ends); then closes the connection.
    public func sendAndHangUp(
        _ method: String,
        _ path: String,
        headers: [(String, String)],
        body: [UInt8],
        stopAfter: @escaping @Sendable ([UInt8]) -> Bool
    ) async throws -> [UInt8] {
        let endpoint = self.endpoint
        return try await blocking {
            let connection = try RawConnection(endpoint)
            defer { connection.close() }
            try connection.write(Self.requestBytes(method, path, headers: headers, body: body))
            var all: [UInt8] = []
            while case let chunk = try connection.read(), !chunk.isEmpty {
                all += chunk
                if stopAfter(all) { break }
            }
            return all
        }
    }

    /// A request that asks the server to close after answering; a GET without a body sends no
    /// `content-length`.
    public static func requestBytes(
        _ method: String, _ path: String, headers: [(String, String)], body: [UInt8]
    ) -> [UInt8] {
        httpRequestBytes(
            method, path, headers: headers, body: method != "GET" || !body.isEmpty ? body : nil, close: true)
    }
}

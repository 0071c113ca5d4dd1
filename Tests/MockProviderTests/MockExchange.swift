import Foundation
import GatewayTesting
import MockProvider
import Testing

extension RawConnection {
    /// Connects to `server` (Unix socket or loopback TCP).
    convenience init(server: MockProviderServer, readTimeout: Double = 5) throws {
        try self.init(server.endpoint, readTimeout: readTimeout)
    }

    /// Sends a request as the mock's tests write it: `authorization: Bearer key` unless `key` is
    /// nil, and a JSON body with its `content-length`; the connection stays open.
    func send(
        _ method: String, _ path: String, body: String? = nil, key: String? = "sk-test",
        headers: [(String, String)] = []
    ) throws {
        var all: [(String, String)] = key.map { [("authorization", "Bearer \($0)")] } ?? []
        all += headers
        if body != nil { all.append(("content-type", "application/json")) }
        try write(httpRequestBytes(method, path, headers: all, body: body.map { Array($0.utf8) }))
    }
}

/// One request on a fresh connection.
func exchange(
    _ server: MockProviderServer, _ method: String, _ path: String, body: String? = nil, key: String? = "sk-test",
    headers: [(String, String)] = [], readTimeout: Double = 5
) async throws -> HTTPResponse {
    try await blocking {
        let connection = try RawConnection(server: server, readTimeout: readTimeout)
        try connection.send(method, path, body: body, key: key, headers: headers)
        return try connection.readResponse()
    }
}

/// `data: ` payloads of an SSE body, in order.
func events(_ text: String) -> [String] {
    text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map {
        $0.hasPrefix("data: ") ? String($0.dropFirst(6)) : $0
    }
}

func chatBody(
    _ text: String = "Hello there", model: String = "gpt-4o-mini", stream: Bool = false, includeUsage: Bool? = nil,
    extra: String = ""
) -> String {
    String(String.chatRequest(model: model, stream: stream, includeUsage: includeUsage, text: text).dropLast()) + extra
        + "}"
}

func parse(_ json: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
}

/// Starts an OpenAI mock on loopback TCP (or a Unix socket), runs `body`, and always shuts it down.
@discardableResult
func withMock<T>(
    faults: String = "", apiKey: String? = "sk-test", unix: Bool = false,
    _ body: (MockProviderServer) async throws -> T
) async throws -> T {
    let address: MockListenAddress =
        unix
        ? .unix(path: FileManager.default.temporaryDirectory.path + "/mock-\(UUID().uuidString.prefix(8)).sock")
        : .tcp(host: "127.0.0.1", port: 0)
    return try await withMock(MockProviderConfiguration(faults: faults, apiKey: apiKey), on: address, body)
}

/// Starts a mock of `dialect` on loopback TCP, runs `body`, and always shuts it down.
@discardableResult
func withDialectMock<T>(
    _ dialect: MockDialect, faults: String = "", apiKey: String? = "sk-test",
    configure: (inout MockProviderConfiguration) -> Void = { _ in },
    _ body: (MockProviderServer) async throws -> T
) async throws -> T {
    var configuration = MockProviderConfiguration(dialect: dialect, faults: faults, apiKey: apiKey)
    configure(&configuration)
    return try await withMock(configuration, on: .tcp(host: "127.0.0.1", port: 0), body)
}

private func withMock<T>(
    _ configuration: MockProviderConfiguration, on address: MockListenAddress,
    _ body: (MockProviderServer) async throws -> T
) async throws -> T {
    let server = try await MockProviderServer.start(configuration, on: address)
    return try await withCleanup {
        try await body(server)
    } cleanup: {
        try await server.shutdown()
    }
}

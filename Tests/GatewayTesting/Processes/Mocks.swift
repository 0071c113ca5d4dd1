import MockProvider

/// Starts one mock provider on loopback TCP per configuration, runs `body` with them in the same
/// order, and shuts every one down on every path (also when a later one fails to start).
public func withMocks<T>(
    _ configurations: [MockProviderConfiguration], _ body: ([MockProviderServer]) async throws -> T
) async throws -> T {
    var started: [MockProviderServer] = []
    return try await withCleanup {
        for configuration in configurations {
            started.append(try await MockProviderServer.start(configuration, on: .tcp(host: "127.0.0.1", port: 0)))
        }
        return try await body(started)
    } cleanup: {
        for mock in started { try? await mock.shutdown() }
    }
}

/// One mock of `dialect` that wants `apiKey` (the end-to-end provider key by default).
public func withProviderMock<T>(
    _ dialect: MockDialect = .openai, apiKey: String = GatewayBinary.providerKey,
    _ body: (MockProviderServer) async throws -> T
) async throws -> T {
    try await withMocks([MockProviderConfiguration(dialect: dialect, apiKey: apiKey)]) { try await body($0[0]) }
}

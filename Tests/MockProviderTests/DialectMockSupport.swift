import Foundation
import MockProvider
import Testing

/// Starts a mock of `dialect` on loopback TCP, runs `body`, and always shuts it down.
@discardableResult
func withDialectMock<T>(
    _ dialect: MockDialect, faults: String = "", apiKey: String? = "sk-test",
    configure: (inout MockProviderConfiguration) -> Void = { _ in },
    _ body: (MockProviderServer) async throws -> T
) async throws -> T {
    var configuration = MockProviderConfiguration(dialect: dialect, faults: faults, apiKey: apiKey)
    configure(&configuration)
    let server = try await MockProviderServer.start(configuration, on: .tcp(host: "127.0.0.1", port: 0))
    do {
        let result = try await body(server)
        try await server.shutdown()
        return result
    } catch {
        try? await server.shutdown()
        throw error
    }
}

/// Named SSE events (`event: x\ndata: y`) split on blank lines.
func namedEvents(_ text: String) -> [(name: String, data: String)] {
    text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
        let lines = block.components(separatedBy: "\n")
        let name = lines.first { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) } ?? ""
        let data = lines.first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) } ?? ""
        return (name, data)
    }
}

/// The position of `needle` in `text`, for key-order checks.
func offset(of needle: String, in text: String) -> Int {
    text.range(of: needle).map { text.distance(from: text.startIndex, to: $0.lowerBound) } ?? -1
}

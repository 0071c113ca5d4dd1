import Foundation

/// Runs `body`, then `cleanup` on every path: after a result (where a failing cleanup fails the
/// call), and before a thrown error (a failed `try`, a cancelled test) goes on.
public func withCleanup<T>(
    _ body: () async throws -> T, cleanup: () async throws -> Void
) async throws -> T {
    let result: T
    do {
        result = try await body()
    } catch {
        try? await cleanup()
        throw error
    }
    try await cleanup()
    return result
}

/// The gateway's executables, as `swift build` left them.
public enum GatewayBinary {
    /// The provider key gateways under test inject; it must never appear in anything they print.
    public static let providerKey = "sk-llmgw-e2e-DO-NOT-LEAK-7f3a9c1e5b"

    /// `llmgw` or `llmgw-mock`: from `LLMGW_BIN_DIR`, next to the test bundle, or in `.build/debug`.
    public static func url(_ name: String) throws -> URL {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let explicit = environment["LLMGW_BIN_DIR"] { candidates.append(explicit + "/" + name) }
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        candidates.append(testBinary.appendingPathComponent(name).path)
        candidates.append(testBinary.deletingLastPathComponent().appendingPathComponent(name).path)
        candidates.append(FileManager.default.currentDirectoryPath + "/.build/debug/\(name)")
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return URL(fileURLWithPath: candidate)
        }
        throw TestFailure("\(name) executable not found in \(candidates)")
    }

    /// Waits until something accepts connections on the Unix socket at `path`, for at most
    /// `attempts` × `interval`; throws as soon as `isRunning` says the process is gone.
    public static func waitUntilListening(
        _ path: String, attempts: Int = 200, interval: Duration = .milliseconds(50),
        isRunning: () -> Bool = { true }, exited: () -> String = { "" }
    ) async throws {
        try await waitUntilListening(
            on: .unix(path), attempts: attempts, interval: interval, isRunning: isRunning, exited: exited)
    }

    /// Waits until something accepts connections at `endpoint` (a Unix socket or a loopback port).
    public static func waitUntilListening(
        on endpoint: TestEndpoint, attempts: Int = 200, interval: Duration = .milliseconds(50),
        isRunning: () -> Bool = { true }, exited: () -> String = { "" }
    ) async throws {
        for _ in 0..<attempts {
            if let connection = try? RawConnection(endpoint) {
                connection.close()
                return
            }
            guard isRunning() else { throw TestFailure("llmgw exited early: \(exited())") }
            try await Task.sleep(for: interval)
        }
        throw TestFailure("nothing listens on \(endpoint)")
    }
}

extension String {
    /// An OpenAI chat request body.
    public static func chatRequest(
        model: String, stream: Bool = false, includeUsage: Bool? = nil, text: String = "Hello there",
        maxTokens: Int? = nil
    ) -> String {
        var body = #"{"model":"\#(model)","messages":[{"role":"user","content":"\#(text)"}]"#
        if let maxTokens { body += #","max_tokens":\#(maxTokens)"# }
        if stream { body += #","stream":true"# }
        if let includeUsage { body += #","stream_options":{"include_usage":\#(includeUsage)}"# }
        return body + "}"
    }
}

import Foundation
import GatewayTesting
import MockProvider
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Runs a real `llmgw serve` process against an in-process `MockProviderServer`, on a fresh
/// Unix socket in a temporary directory.
final class GatewayHarness: @unchecked Sendable {
    /// The provider key the gateway injects; it must never appear in anything the gateway prints.
    static let providerKey = GatewayBinary.providerKey

    let directory: URL
    let socketPath: String
    let mock: MockProviderServer
    /// A second provider speaking the Anthropic Messages API (strict: it rejects what Anthropic would).
    let anthropic: MockProviderServer
    /// A third provider speaking Azure OpenAI (deployment URLs, `api-key`, content-filter annotations).
    let azure: MockProviderServer
    /// A fourth provider speaking Gemini's generateContent API.
    let gemini: MockProviderServer
    let process: ChildProcess
    let stdoutPath: URL
    let stderrPath: URL
    var client: HTTPClient { HTTPClient(socketPath: socketPath) }
    var configPath: String { directory.appendingPathComponent("llmgw.yaml").path }
    /// With `Options.stalledStdout`: the gateway's stdout, unread until the test reads it.
    var stdoutPipe: Pipe?

    private init(
        directory: URL,
        socketPath: String,
        mock: MockProviderServer,
        anthropic: MockProviderServer,
        azure: MockProviderServer,
        gemini: MockProviderServer,
        process: ChildProcess,
        stdoutPath: URL,
        stderrPath: URL
    ) {
        self.directory = directory
        self.socketPath = socketPath
        self.mock = mock
        self.anthropic = anthropic
        self.azure = azure
        self.gemini = gemini
        self.process = process
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    /// What a test changes in the configuration: extra `listen:` and `log:` keys, the `auth:` section
    /// (YAML lines, indented by two spaces), and whether stdout goes to a pipe nobody reads.
    struct Options {
        var listen: [String] = []
        var auth: [String] = ["mode: none"]
        var log: [String] = []
        var drainTimeout = "10s"
        /// stdout is a pipe that is only read when the test calls `stdoutPipe` (a stalled log reader).
        var stalledStdout = false
        /// Top-level sections appended to the file as written (`callers:` …).
        var sections = ""
    }

    /// The configuration every end-to-end test uses.
    static func configuration(
        directory: URL,
        mockBaseURL: String,
        anthropicBaseURL: String,
        azureBaseURL: String,
        geminiBaseURL: String,
        socketPath: String,
        options: Options = Options()
    ) -> String {
        let indent = { (lines: [String]) in lines.map { "\n  " + $0 }.joined() }
        return """
            listen:
              socket: \(socketPath)
              max_body_bytes: 1MiB
              drain_timeout: \(options.drainTimeout)\(indent(options.listen))
            state:
              path: \(directory.path)/state
            auth:\(indent(options.auth))
            log:
              level: info\(indent(options.log))
            providers:
              mock: { kind: openai, base_url: "\(mockBaseURL)", api_key: "env:LLMGW_E2E_KEY" }
              down: { kind: openai, base_url: "http://127.0.0.1:1/v1" }
              claude: { kind: anthropic, base_url: "\(anthropicBaseURL)", api_key: "env:LLMGW_E2E_KEY" }
              gem: { kind: gemini, base_url: "\(geminiBaseURL)", api_key: "env:LLMGW_E2E_KEY" }
              azure-eu: { kind: azure, base_url: "\(azureBaseURL)", api_key: "env:LLMGW_E2E_KEY", api_version: "2024-10-21" }
            timeouts:
              connect: 2s
              first_byte: 2s
            models:
              - name: smart
                targets: [{ provider: mock, model: gpt-4o-mini }]
              - name: claude
                targets: [{ provider: claude, model: claude-sonnet-4-5 }]
              - name: azure
                targets: [{ provider: azure-eu, model: gpt4o-prod }]
              - name: gemini
                targets: [{ provider: gem, model: gemini-2.5-flash }]
              - name: gemini-throttled
                targets: [{ provider: gem, model: "gemini-2.5-flash#status=429x1;retry_after=1" }]
              - name: claude-first
                targets: [{ provider: claude, model: "claude-sonnet-4-5#status=529" }, { provider: mock, model: gpt-4o-mini }]
              - name: embed
                targets: [{ provider: mock, model: text-embedding-3-small }]
              - name: broken
                targets: [{ provider: mock, model: "gpt-4o#status=500" }]
              - name: unreachable
                targets: [{ provider: down, model: gpt-4o }]
              - name: failover
                targets: [{ provider: down, model: gpt-4o }, { provider: mock, model: gpt-4o-mini }]
              - name: slow
                targets: [{ provider: mock, model: "gpt-4o#chunk_delay=200ms" }]
              - name: hang
                targets: [{ provider: mock, model: "gpt-4o#delay=30s" }]
              - name: stalled
                targets: [{ provider: mock, model: "gpt-4o#stall=3", timeouts: { connect: 10s, first_byte: 10s } }]
              - name: late
                targets: [{ provider: mock, model: "gpt-4o-mini#delay=1500ms" }]
              - name: missing
                targets: [{ provider: mock, model: "gpt-4o#status=404" }]
              - name: flaky
                targets: [{ provider: mock, model: "gpt-4o#status=503x2" }, { provider: mock, model: gpt-4o-mini }]
              - name: throttled
                targets: [{ provider: mock, model: "gpt-4o#status=429x1;retry_after=1" }]
              - name: hangover
                targets: [{ provider: mock, model: "gpt-4o#delay=30s" }, { provider: mock, model: gpt-4o-mini }]
              - name: resetting
                targets: [{ provider: mock, model: "gpt-4o#reset" }, { provider: mock, model: gpt-4o-mini }]
              - name: preamblecut
                targets: [{ provider: mock, model: "gpt-4o#cut=1" }, { provider: mock, model: gpt-4o-mini }]
              - name: contentcut
                targets: [{ provider: mock, model: "gpt-4o#cut=3" }, { provider: mock, model: gpt-4o-mini }]
              - name: alldown
                targets: [{ provider: down, model: gpt-4o }, { provider: mock, model: "gpt-4o#status=500" }]
            """ + (options.sections.isEmpty ? "" : "\n" + options.sections)
    }

    /// Starts the four mocks and the gateway; whatever was started is stopped again when a later
    /// step fails.
    static func start(_ options: Options = Options()) async throws -> GatewayHarness {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var mocks: [MockProviderServer] = []
        var process: ChildProcess?
        do {
            for dialect in [MockDialect.openai, .anthropic, .azure, .gemini] {
                mocks.append(
                    try await MockProviderServer.start(
                        MockProviderConfiguration(dialect: dialect, apiKey: providerKey),
                        on: .tcp(host: "127.0.0.1", port: 0)
                    ))
            }
            // Unix socket paths are limited to 108 bytes: keep it short.
            let socketPath = directory.path + "/gw.sock"
            let configPath = directory.appendingPathComponent("llmgw.yaml")
            try configuration(
                directory: directory,
                mockBaseURL: mocks[0].baseURL,
                anthropicBaseURL: mocks[1].baseURL,
                azureBaseURL: mocks[2].baseURL,
                geminiBaseURL: mocks[3].baseURL,
                socketPath: socketPath,
                options: options
            )
            .write(to: configPath, atomically: true, encoding: .utf8)

            let stdoutPath = directory.appendingPathComponent("stdout.log")
            let stderrPath = directory.appendingPathComponent("stderr.log")
            _ = FileManager.default.createFile(atPath: stdoutPath.path, contents: nil)
            _ = FileManager.default.createFile(atPath: stderrPath.path, contents: nil)
            let started = ChildProcess()
            started.executableURL = try GatewayBinary.url("llmgw")
            started.arguments = ["serve", "--config", configPath.path]
            var environment = ProcessInfo.processInfo.environment
            environment["LLMGW_E2E_KEY"] = providerKey
            started.environment = environment
            let stdoutPipe = options.stalledStdout ? Pipe() : nil
            started.standardOutput = try stdoutPipe ?? FileHandle(forWritingTo: stdoutPath)
            started.standardError = try FileHandle(forWritingTo: stderrPath)
            try started.run()
            process = started
            let harness = GatewayHarness(
                directory: directory,
                socketPath: socketPath,
                mock: mocks[0],
                anthropic: mocks[1],
                azure: mocks[2],
                gemini: mocks[3],
                process: started,
                stdoutPath: stdoutPath,
                stderrPath: stderrPath
            )
            harness.stdoutPipe = stdoutPipe
            try await GatewayBinary.waitUntilListening(
                socketPath, isRunning: { started.isRunning }, exited: { harness.stderr() + harness.stdout() })
            return harness
        } catch {
            if let process, process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                try? await blocking { process.waitUntilExit() }
            }
            for mock in mocks { try? await mock.shutdown() }
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    func stdout() -> String { (try? String(contentsOf: stdoutPath, encoding: .utf8)) ?? "" }
    func stderr() -> String { (try? String(contentsOf: stderrPath, encoding: .utf8)) ?? "" }

    /// Parsed JSON lines of stdout.
    func logLines() -> [[String: Any]] {
        stdout().split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The access lines (msg "request") with this request id; waits briefly for the line to land.
    func accessLines(requestID: String) async -> [[String: Any]] {
        for _ in 0..<50 {
            let lines = logLines().filter {
                $0["msg"] as? String == "request" && $0["request_id"] as? String == requestID
            }
            if !lines.isEmpty { return lines }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return []
    }

    func signal(_ number: Int32) {
        kill(process.processIdentifier, number)
    }

    /// Waits for the process to exit; returns its status.
    func waitForExit(timeout: Duration = .seconds(20)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline { return nil }
            await pause(seconds: 0.02)  // also in a cancelled test, whose cleanup waits here
        }
        return process.terminationStatus
    }

    func stop() async {
        if process.isRunning {
            signal(SIGTERM)
            if await waitForExit() == nil { signal(SIGKILL) }
        }
        try? await mock.shutdown()
        try? await anthropic.shutdown()
        try? await azure.shutdown()
        try? await gemini.shutdown()
        // The provider key must appear nowhere in what the gateway printed.
        #expect(!stdout().contains(Self.providerKey), "provider key leaked to stdout")
        #expect(!stderr().contains(Self.providerKey), "provider key leaked to stderr")
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Starts a gateway (and its mock providers), runs `body`, and always stops them; then checks
/// that the provider key never appeared in anything the gateway printed.
func withGateway<T>(
    _ options: GatewayHarness.Options = .init(), _ body: (GatewayHarness) async throws -> T
) async throws -> T {
    let harness = try await GatewayHarness.start(options)
    return try await withCleanup {
        try await body(harness)
    } cleanup: {
        await harness.stop()
    }
}

/// Runs `llmgw ARGS` to its end on a thread of its own; returns (status, stdout, stderr).
func runLLMGW(_ arguments: [String], environment: [String: String]? = nil) async throws -> (
    status: Int32, stdout: String, stderr: String
) {
    try await blocking { try runLLMGWNow(arguments, environment: environment) }
}

/// `runLLMGW` on the calling thread (for callers already off the cooperative pool).
func runLLMGWNow(_ arguments: [String], environment: [String: String]? = nil) throws -> (
    status: Int32, stdout: String, stderr: String
) {
    let process = ChildProcess()
    process.executableURL = try GatewayBinary.url("llmgw")
    process.arguments = arguments
    if let environment { process.environment = environment }
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    let err = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

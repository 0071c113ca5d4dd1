import Foundation
import GatewayTesting

#if canImport(Glibc)
    import Glibc
#endif

/// One `llmgw serve` process on a configuration a test writes itself (the shared `GatewayHarness`
/// has one fixed configuration). Its stdout and stderr go to files the test can search.
final class GatewayProcess: @unchecked Sendable {
    let directory: URL
    let socketPath: String
    let configPath: String
    let environment: [String: String]
    private let process = ChildProcess()
    private let stdoutPath: URL
    private let stderrPath: URL

    var client: HTTPClient { HTTPClient(socketPath: socketPath) }
    var statePath: String { directory.path + "/state" }
    var isRunning: Bool { process.isRunning }
    /// Peak resident set size of the server so far (`VmHWM`), in bytes.
    var peakResidentBytes: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return nil }
        return kilobytes * 1024
    }

    /// Writes the configuration `yaml(directory, socketPath)` returns, runs `prepare` (for
    /// `llmgw keys create`, before the server holds the state), then starts the server.
    init(
        environment: [String: String] = [:],
        yaml: (_ directory: URL, _ socketPath: String) -> String,
        prepare: (GatewayProcess) async throws -> Void = { _ in }
    ) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-gp-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        socketPath = directory.path + "/gw.sock"
        configPath = directory.path + "/llmgw.yaml"
        var merged = ProcessInfo.processInfo.environment
        for (name, value) in environment { merged[name] = value }
        self.environment = merged
        stdoutPath = directory.appendingPathComponent("stdout.log")
        stderrPath = directory.appendingPathComponent("stderr.log")
        try yaml(directory, socketPath).write(toFile: configPath, atomically: true, encoding: .utf8)
        try await prepare(self)
        _ = FileManager.default.createFile(atPath: stdoutPath.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath.path, contents: nil)
        process.executableURL = try GatewayBinary.url("llmgw")
        process.arguments = ["serve", "--config", configPath]
        process.environment = merged
        process.standardOutput = try FileHandle(forWritingTo: stdoutPath)
        process.standardError = try FileHandle(forWritingTo: stderrPath)
        try process.run()
        do {
            try await GatewayBinary.waitUntilListening(
                socketPath, isRunning: { process.isRunning }, exited: { stderr() + stdout() })
        } catch {
            await stop()
            throw error
        }
    }

    /// Runs `llmgw ARGS --config <this config>`; returns (status, stdout, stderr). The process is
    /// awaited on a thread of its own: blocking one of the few cooperative threads would stall every
    /// other test in the process.
    func cli(_ arguments: [String]) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await blocking { try self.runCLI(arguments) }
    }

    /// Every database of the state as `mdb_dump -a -p` prints it.
    func stateDump() async throws -> String {
        try await blocking { try self.runStateDump() }
    }

    private func runCLI(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try runLLMGWNow(arguments + ["--config", configPath], environment: environment)
    }

    func stdout() -> String { (try? String(contentsOf: stdoutPath, encoding: .utf8)) ?? "" }
    func stderr() -> String { (try? String(contentsOf: stderrPath, encoding: .utf8)) ?? "" }

    private func runStateDump() throws -> String {
        let dump = ChildProcess()
        dump.executableURL = URL(fileURLWithPath: "/usr/bin/mdb_dump")
        dump.arguments = ["-a", "-p", statePath]
        let output = Pipe()
        dump.standardOutput = output
        dump.standardError = FileHandle.nullDevice
        try dump.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        dump.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Stops the server (SIGTERM, then SIGKILL after 10 s), keeping its files.
    func terminate() async {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        for _ in 0..<400 where process.isRunning { await pause(seconds: 0.025) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Stops the server and removes its directory.
    func stop() async {
        await terminate()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Starts a `GatewayProcess` (see its `init`), runs `body`, and stops it on every path.
func withGatewayProcess<T>(
    environment: [String: String] = ["LLMGW_E2E_KEY": GatewayBinary.providerKey],
    yaml: (_ directory: URL, _ socketPath: String) -> String,
    prepare: (GatewayProcess) async throws -> Void = { _ in },
    _ body: (GatewayProcess) async throws -> T
) async throws -> T {
    let gateway = try await GatewayProcess(environment: environment, yaml: yaml, prepare: prepare)
    return try await withCleanup {
        try await body(gateway)
    } cleanup: {
        await gateway.stop()
    }
}

/// Runs the heaviest end-to-end tests (corpora of thousands of requests, 100 MiB bodies) one at a
/// time, so that together they never starve the timing-sensitive tests sharing the machine.
actor HeavyTestGate {
    static let shared = HeavyTestGate()
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    static func exclusively<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await shared.acquire()
        return try await withCleanup(body) { await shared.release() }
    }

    private func acquire() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}

import Foundation
import MockProvider

#if canImport(Glibc)
    import Glibc
#endif

/// Several `llmgw serve` processes sharing one `state.path` (as sidecars on one host do), in
/// `auth.mode: keys`, in front of one in-process mock provider.
final class SidecarGroup: @unchecked Sendable {
    let directory: URL
    let mock: MockProviderServer
    private(set) var processes: [Process] = []
    private(set) var outputs: [URL] = []

    var statePath: String { directory.path + "/state" }
    func socketPath(_ index: Int) -> String { directory.path + "/gw\(index).sock" }
    func configPath(_ index: Int) -> String { directory.path + "/gw\(index).yaml" }
    func client(_ index: Int) -> UnixHTTPClient { UnixHTTPClient(socketPath: socketPath(index)) }

    init(count: Int) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-side-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        mock = try await MockProviderServer.start(
            MockProviderConfiguration(apiKey: GatewayHarness.providerKey),
            on: .tcp(host: "127.0.0.1", port: 0)
        )
        for index in 0..<count {
            let yaml = """
                listen: { socket: \(socketPath(index)) }
                state: { path: \(statePath) }
                auth: { mode: keys }
                circuit: { failures: 2, window: 30s, cooldown: 60s }
                providers:
                  mock: { kind: openai, base_url: "\(mock.baseURL)", api_key: "env:LLMGW_E2E_KEY" }
                models:
                  - name: smart
                    targets: [{ provider: mock, model: gpt-4o-mini }]
                  - name: breaking
                    targets: [{ provider: mock, model: "gpt-4o#status=500" }, { provider: mock, model: gpt-4o-mini }]
                  - name: cached
                    cache: true
                    targets: [{ provider: mock, model: "gpt-4o-mini#delay=20ms" }]
                """
            try yaml.write(toFile: configPath(index), atomically: true, encoding: .utf8)
        }
        for index in 0..<count { try startProcess(index) }
        for index in 0..<count { try await waitUntilListening(index) }
    }

    func startProcess(_ index: Int) throws {
        let output = directory.appendingPathComponent("gw\(index)-\(processes.count).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = try GatewayHarness.executable("llmgw")
        process.arguments = ["serve", "--config", configPath(index)]
        var environment = ProcessInfo.processInfo.environment
        environment["LLMGW_E2E_KEY"] = GatewayHarness.providerKey
        process.environment = environment
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        processes.append(process)
        outputs.append(output)
    }

    func waitUntilListening(_ index: Int) async throws {
        for _ in 0..<200 {
            if let connection = try? RawConnection(path: socketPath(index)) {
                connection.close()
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw UnixHTTPClient.Failure(description: "sidecar \(index) did not listen")
    }

    /// Runs `llmgw ARGS --config <first config>` and returns its stdout.
    func cli(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = try GatewayHarness.executable("llmgw")
        process.arguments = arguments + ["--config", configPath(0)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw UnixHTTPClient.Failure(description: "llmgw \(arguments) exited \(process.terminationStatus)")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func allOutput() -> String {
        outputs.map { (try? String(contentsOf: $0, encoding: .utf8)) ?? "" }.joined(separator: "\n")
    }

    func stop() async {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        for process in processes {
            for _ in 0..<400 where process.isRunning { try? await Task.sleep(for: .milliseconds(25)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        try? await mock.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Sends one chat request per entry of `sockets`, all at once; returns the statuses.
func burst(_ group: SidecarGroup, key: String, sockets: [Int]) async -> [Int] {
    await withTaskGroup(of: Int.self) { tasks in
        for socket in sockets {
            tasks.addTask {
                let response = try? await group.client(socket).post(
                    "/v1/chat/completions",
                    json: .chatRequest(model: "smart"),
                    headers: [("authorization", "Bearer \(key)")]
                )
                return response?.status ?? -1
            }
        }
        var statuses: [Int] = []
        for await status in tasks { statuses.append(status) }
        return statuses
    }
}

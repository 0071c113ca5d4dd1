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
    /// Each sidecar (and each CLI run) as PID 1 of its own PID namespace, as in a pod.
    let namespaced: Bool

    var statePath: String { directory.path + "/state" }
    func socketPath(_ index: Int) -> String { directory.path + "/gw\(index).sock" }
    func configPath(_ index: Int) -> String { directory.path + "/gw\(index).yaml" }
    func client(_ index: Int) -> UnixHTTPClient { UnixHTTPClient(socketPath: socketPath(index)) }

    /// `extra(index)` is appended to sidecar `index`'s configuration.
    /// `stateOptions(index)` goes inside its `state:` mapping (", map_size: 2MiB").
    init(
        count: Int, namespaced: Bool = false, stateOptions: (Int) -> String = { _ in "" },
        extra: (Int) -> String = { _ in "" }
    ) async throws {
        self.namespaced = namespaced
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
                state: { path: \(statePath)\(stateOptions(index)) }
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
                """ + "\n" + extra(index)
            try yaml.write(toFile: configPath(index), atomically: true, encoding: .utf8)
        }
        for index in 0..<count { try startProcess(index) }
        for index in 0..<count { try await waitUntilListening(index) }
    }

    func startProcess(_ index: Int) throws {
        let output = directory.appendingPathComponent("gw\(index)-\(processes.count).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = try command(["serve", "--config", configPath(index)])
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

    /// `llmgw ARGS`, under `unshare --pid --fork --mount-proc` when the group is namespaced: a
    /// PID namespace with its own /proc, as every container runtime gives a pod (libdispatch
    /// reads `/proc/<tid>/stat` of its threads). `--kill-child`: killing the unshare process
    /// kills the whole namespace, as deleting a pod does.
    func command(_ arguments: [String]) throws -> Process {
        let process = Process()
        let executable = try GatewayHarness.executable("llmgw")
        if namespaced {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            process.arguments = ["--pid", "--fork", "--mount-proc", "--kill-child", executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        return process
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
        let process = try command(arguments + ["--config", configPath(0)])
        let output = Pipe()
        process.standardOutput = output
        let errors = directory.appendingPathComponent("cli-\(UUID().uuidString.prefix(8)).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let stderr = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            throw UnixHTTPClient.Failure(
                description: "llmgw \(arguments) exited \(process.terminationStatus): \(stderr.prefix(4000))")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Requests counted in the shared usage totals (`llmgw usage --json`).
    func requestsRecorded() throws -> Int {
        try cli(["usage", "--json"]).split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["requests"] as? Int
        }.reduce(0, +)
    }

    func allOutput() -> String {
        outputs.map { (try? String(contentsOf: $0, encoding: .utf8)) ?? "" }.joined(separator: "\n")
    }

    /// SIGTERM to a sidecar. Under `unshare --fork` the signal goes to unshare's child (the
    /// pod's PID 1): unshare itself ignores SIGTERM while it waits.
    func terminate(_ process: Process) {
        let pid = process.processIdentifier
        guard namespaced else {
            kill(pid, SIGTERM)
            return
        }
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ").compactMap({ Int32($0) }) { kill(child, SIGTERM) }
    }

    func stop() async {
        for process in processes where process.isRunning { terminate(process) }
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

/// Every database of the environment as `mdb_dump -a` prints it (printable form).
func mdbDump(_ path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/mdb_dump")
    process.arguments = ["-a", "-p", path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

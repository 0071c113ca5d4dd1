import Foundation
import MockProvider
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Starts `count` sidecars (see `SidecarGroup`), runs `body`, and stops every process the group
/// started (sidecars, restarts, helpers) and its mock on every path, a thrown error included.
public func withSidecars<T>(
    count: Int,
    namespaced: Bool = false,
    stateOptions: (Int) -> String = { _ in "" },
    extra: (Int) -> String = { _ in "" },
    models: String = "",
    _ body: (SidecarGroup) async throws -> T
) async throws -> T {
    let group = try await SidecarGroup(
        count: count, namespaced: namespaced, stateOptions: stateOptions, extra: extra, models: models)
    return try await withCleanup {
        try await body(group)
    } cleanup: {
        await group.stop()
    }
}

/// Several `llmgw serve` processes sharing one `state.path` (as sidecars on one host do), in
/// `auth.mode: keys`, in front of one in-process mock provider. Use it through `withSidecars`.
public final class SidecarGroup: Sendable {
    public let directory: URL
    public let mock: MockProviderServer
    /// Each sidecar (and each CLI run) as PID 1 of its own PID namespace, as in a pod.
    public let namespaced: Bool
    /// How many sidecars the group started with.
    public let count: Int
    private let started = Mutex<(sidecars: [ChildProcess], outputs: [URL], helpers: [ChildProcess])>(([], [], []))

    /// The sidecar processes in the order started (a restart of sidecar 0 is appended).
    public var processes: [ChildProcess] { started.withLock { $0.sidecars } }
    public var statePath: String { directory.path + "/state" }
    public func socketPath(_ index: Int) -> String { directory.path + "/gw\(index).sock" }
    public func configPath(_ index: Int) -> String { directory.path + "/gw\(index).yaml" }
    public func client(_ index: Int) -> HTTPClient { HTTPClient(socketPath: socketPath(index)) }

    /// `extra(index)` is appended to sidecar `index`'s configuration, `models` (list items
    /// indented by two spaces) to its `models:`.
    /// `stateOptions(index)` goes inside its `state:` mapping (", map_size: 2MiB").
    /// Whatever it started is stopped again when it fails part-way.
    init(
        count: Int, namespaced: Bool, stateOptions: (Int) -> String, extra: (Int) -> String, models: String = ""
    ) async throws {
        self.namespaced = namespaced
        self.count = count
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-side-\(UUID().uuidString.prefix(8))")
        self.directory = directory
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        do {
            mock = try await MockProviderServer.start(
                MockProviderConfiguration(apiKey: GatewayBinary.providerKey),
                on: .tcp(host: "127.0.0.1", port: 0)
            )
        } catch {
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
        do {
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
                    """ + "\n" + models + "\n" + extra(index)
                try yaml.write(toFile: configPath(index), atomically: true, encoding: .utf8)
            }
            for index in 0..<count { try startProcess(index) }
            for index in 0..<count { try await waitUntilListening(index) }
        } catch {
            await stop()
            throw error
        }
    }

    /// Starts (or restarts) sidecar `index`.
    public func startProcess(_ index: Int) throws {
        let output = directory.appendingPathComponent("gw\(index)-\(processes.count).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = try command(["serve", "--config", configPath(index)])
        var environment = ProcessInfo.processInfo.environment
        environment["LLMGW_E2E_KEY"] = GatewayBinary.providerKey
        process.environment = environment
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        started.withLock {
            $0.sidecars.append(process)
            $0.outputs.append(output)
        }
    }

    /// Runs `llmgw ARGS` in the background with its stdout in `output`; `stop` ends it too.
    public func launch(_ arguments: [String], output: URL) throws -> ChildProcess {
        let process = try command(arguments)
        process.standardOutput = try FileHandle(forWritingTo: output)
        try process.run()
        started.withLock { $0.helpers.append(process) }
        return process
    }

    /// `llmgw ARGS`, under `unshare --pid --fork --mount-proc` when the group is namespaced: a
    /// PID namespace with its own /proc, as every container runtime gives a pod (libdispatch
    /// reads `/proc/<tid>/stat` of its threads). `--kill-child`: killing the unshare process
    /// kills the whole namespace, as deleting a pod does.
    func command(_ arguments: [String]) throws -> ChildProcess {
        let process = ChildProcess()
        let executable = try GatewayBinary.url("llmgw")
        if namespaced {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            process.arguments = ["--pid", "--fork", "--mount-proc", "--kill-child", executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        return process
    }

    public func waitUntilListening(_ index: Int) async throws {
        do {
            try await GatewayBinary.waitUntilListening(socketPath(index))
        } catch {
            throw TestFailure("sidecar \(index) did not listen: \(allOutput().suffix(2000))")
        }
    }

    /// Runs `llmgw ARGS --config <first config>` and returns its stdout.
    public func cli(_ arguments: [String]) throws -> String {
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
            throw TestFailure("llmgw \(arguments) exited \(process.terminationStatus): \(stderr.prefix(4000))")
        }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Requests counted in the shared usage totals (`llmgw usage --json`).
    public func requestsRecorded() throws -> Int {
        try cli(["usage", "--json"]).split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["requests"] as? Int
        }.reduce(0, +)
    }

    public func allOutput() -> String {
        started.withLock { $0.outputs }.map { (try? String(contentsOf: $0, encoding: .utf8)) ?? "" }
            .joined(separator: "\n")
    }

    /// SIGTERM to a sidecar. Under `unshare --fork` the signal goes to unshare's child (the
    /// pod's PID 1): unshare itself ignores SIGTERM while it waits.
    public func terminate(_ process: ChildProcess) {
        let pid = process.processIdentifier
        guard namespaced else {
            kill(pid, SIGTERM)
            return
        }
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ").compactMap({ Int32($0) }) { kill(child, SIGTERM) }
    }

    /// Stops every sidecar (SIGTERM, SIGKILL after 10 s) and helper (SIGKILL, after a SIGCONT for
    /// one a test stopped), shuts the mock down and removes the directory.
    func stop() async {
        let (sidecars, helpers) = started.withLock { ($0.sidecars, $0.helpers) }
        for helper in helpers where helper.isRunning {
            kill(helper.processIdentifier, SIGCONT)
            kill(helper.processIdentifier, SIGKILL)
        }
        for process in sidecars where process.isRunning { terminate(process) }
        for process in sidecars {
            for _ in 0..<400 where process.isRunning { await pause(seconds: 0.025) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        for process in sidecars + helpers { await reap(process) }
        try? await mock.shutdown()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Sleeps even in a cancelled task (cleanup must still give processes time to exit).
public func pause(seconds: Double) async {
    try? await blocking { Thread.sleep(forTimeInterval: seconds) }
}

/// Waits (off the cooperative pool) until a killed process has exited.
func reap(_ process: ChildProcess) async {
    guard process.isRunning else { return }
    try? await blocking { process.waitUntilExit() }
}

extension SidecarGroup {
    /// Creates a key allowed `limit` requests a minute and sends it `count` × `limit` requests,
    /// spread over every sidecar, all at once; returns the key and the statuses.
    public func burstPastRateLimit(_ limit: Int, keyName: String) async throws -> (key: String, statuses: [Int]) {
        let key = try cli(["keys", "create", "--name", keyName, "--rpm", String(limit)])
        let statuses = await burst(self, key: key, sockets: (0..<(count * limit)).map { $0 % count })
        return (key, statuses)
    }
}

/// Sends one chat request per entry of `sockets`, all at once; returns the statuses.
public func burst(_ group: SidecarGroup, key: String, sockets: [Int]) async -> [Int] {
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
public func mdbDump(_ path: String) throws -> String {
    let process = ChildProcess()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/mdb_dump")
    process.arguments = ["-a", "-p", path]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

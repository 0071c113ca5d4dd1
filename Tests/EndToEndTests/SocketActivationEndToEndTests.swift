import Foundation
import GatewayTesting
import MockProvider
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `llmgw serve` started the way systemd starts a socket-activated `Type=notify` service: the
/// listening socket as descriptor 3, `LISTEN_FDS`/`LISTEN_PID`/`LISTEN_FDNAMES` naming it, and
/// `NOTIFY_SOCKET` for `READY=1` and `STOPPING=1`.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SocketActivationEndToEndTests {
    @Test func servesOnTheInheritedSocketAndTellsTheServiceManager() async throws {
        try await withProviderMock { mock in
            let scene = try ActivationScene()
            try await withCleanup {
                let notify = try scene.bindNotifySocket()
                let listening = try scene.bindListeningSocket()
                let gateway = try scene.start(
                    yaml: scene.configuration(mock: mock), inheritedDescriptor: listening,
                    environment: ["LISTEN_FDS": "1", "LISTEN_FDNAMES": "llmgw", "NOTIFY_SOCKET": scene.notifyPath])
                let ready = try await scene.receive(on: notify, containing: "READY=1", while: gateway)
                #expect(ready.contains("STATUS=serving on unix:\(scene.activatedPath)"), "\(ready)")

                let client = HTTPClient(socketPath: scene.activatedPath)
                #expect(try await client.get("/healthz").status == 200)
                let answer = try await client.post("/v1/chat/completions", json: .chatRequest(model: "smart"))
                #expect(answer.status == 200, "\(answer.text)")
                #expect(answer.header("x-llmgw-provider") == "openai")
                // The configured path is never claimed: the inherited socket replaces it.
                #expect(!FileManager.default.fileExists(atPath: scene.configuredPath))
                #expect(!FileManager.default.fileExists(atPath: scene.configuredPath + ".lock"))

                gateway.terminate()
                let stopping = try await scene.receive(on: notify, containing: "STOPPING=1", while: gateway)
                #expect(stopping.hasPrefix("STOPPING=1"))
                #expect(await gateway.waitForExit() == 0, "\(scene.output())")
                // The socket is the service manager's: it outlives the gateway, still accepting
                // (into its queue, for the next start).
                #expect(FileManager.default.fileExists(atPath: scene.activatedPath))
                let queued = try RawConnection(.unix(scene.activatedPath))
                queued.close()
                let listeningLine = scene.output().split(separator: "\n").first { $0.contains(#""msg":"listening""#) }
                #expect(listeningLine?.contains(#""inherited_fd":"3""#) == true, "\(scene.output())")
                #expect(listeningLine?.contains("is not used") == true, "\(scene.output())")
                #expect(!scene.output().contains(GatewayBinary.providerKey))
            } cleanup: {
                await scene.stop()
            }
        }
    }

    @Test func aGatewayThatContinuesInAFreshPIDServesOnTheSocketPassedToItsParent() async throws {
        try #require(getuid() == 0, "unshare --pid needs root (CI runs as root)")
        try await withProviderMock { mock in
            let scene = try ActivationScene()
            try await withCleanup {
                // One pod's gateway: PID 1 of its namespace, holding its PID in the shared state.
                let firstSocket = scene.directory + "/first.sock"
                let first = try scene.start(
                    yaml: scene.configuration(mock: mock, socket: firstSocket), inheritedDescriptor: nil,
                    environment: [:], namespaced: true, configName: "first.yaml")
                try await GatewayBinary.waitUntilListening(
                    firstSocket, isRunning: { first.isRunning }, exited: { scene.output() })
                // Another, PID 1 of its own namespace too, socket-activated: the state turns PID 1
                // away, so it continues as a child (PID 2), which must take the socket passed to 1.
                let notify = try scene.bindNotifySocket()
                let listening = try scene.bindListeningSocket()
                let second = try scene.start(
                    yaml: scene.configuration(mock: mock), inheritedDescriptor: listening,
                    environment: ["LISTEN_FDS": "1", "NOTIFY_SOCKET": scene.notifyPath], namespaced: true)
                let ready = try await scene.receive(on: notify, containing: "READY=1", while: second)
                #expect(ready.contains(scene.activatedPath))
                #expect(scene.output().contains("continuing in a fresh PID"), "\(scene.output())")
                let answer = try await HTTPClient(socketPath: scene.activatedPath).post(
                    "/v1/chat/completions", json: .chatRequest(model: "smart"))
                #expect(answer.status == 200, "\(answer.text)")
                second.terminate()
                _ = try await scene.receive(on: notify, containing: "STOPPING=1", while: second)
                #expect(await second.waitForExit() == 0, "\(scene.output())")
            } cleanup: {
                await scene.stop()
            }
        }
    }

    @Test func descriptorsPassedToAnotherProcessAreLeftAlone() async throws {
        // LISTEN_PID names some other process (an inherited leftover): llmgw binds its own socket.
        let environment = [
            "LLMGW_E2E_KEY": GatewayBinary.providerKey, "LISTEN_FDS": "1", "LISTEN_PID": "1",
            "NOTIFY_SOCKET": "/nonexistent/notify.sock",
        ]
        try await withGatewayProcess(environment: environment) { directory, socket in
            """
            listen: { socket: \(socket) }
            state: { path: \(directory.path)/state }
            providers:
              openai: { kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: "env:LLMGW_E2E_KEY" }
            models:
              - { name: smart, targets: [{ provider: openai, model: gpt-4o-mini }] }
            """
        } _: { gateway in
            let health = try await gateway.client.get("/healthz")
            #expect(health.status == 200)
            #expect(gateway.isRunning)
        }
    }

    @Test func aSocketTheGatewayBindsGetsTheConfiguredModeAndGroup() async throws {
        // Without socket activation: listen.socket_mode and listen.socket_group reach the file.
        let group = String(getgid())
        try await withGatewayProcess { directory, socket in
            """
            listen: { socket: \(socket), socket_mode: "0640", socket_group: "\(group)" }
            state: { path: \(directory.path)/state }
            providers:
              openai: { kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: "env:LLMGW_E2E_KEY" }
            models:
              - { name: smart, targets: [{ provider: openai, model: gpt-4o-mini }] }
            """
        } _: { gateway in
            // The socket is bound under a restrictive umask and then given its mode and group: the
            // file can be seen a moment before that.
            var info = stat()
            let deadline = ContinuousClock.now + .seconds(5)
            while lstat(gateway.socketPath, &info) != 0 || info.st_mode & 0o7777 != 0o640,
                ContinuousClock.now < deadline
            {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(lstat(gateway.socketPath, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o7777 == 0o640)
            #expect(info.st_gid == getgid())
        }
    }

    @Test func anInheritedDescriptorThatIsNoListeningSocketStopsTheStart() async throws {
        let scene = try ActivationScene()
        try await withCleanup {
            let gateway = try scene.start(
                yaml: scene.configuration(mock: nil), inheritedDescriptor: open("/dev/null", O_RDONLY | O_CLOEXEC),
                environment: ["LISTEN_FDS": "1"])
            #expect(await gateway.waitForExit() == 1)
            #expect(scene.output().contains("is not a socket"), "\(scene.output())")
        } cleanup: {
            await scene.stop()
        }
    }
}

/// The files of one socket-activation test: a directory with the activated socket, the notify
/// socket, the configuration and the gateway's output; and the descriptors and process it started.
private final class ActivationScene: @unchecked Sendable {
    let directory: String
    var activatedPath: String { directory + "/activated.sock" }
    var configuredPath: String { directory + "/configured.sock" }
    var notifyPath: String { directory + "/notify.sock" }
    private var outputPath: String { directory + "/output.log" }
    private var descriptors: [Int32] = []
    private var gateways: [ActivatedGateway] = []

    init() throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "llmgw-act-\(UUID().uuidString.prefix(8))"
            ).path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func configuration(mock: MockProviderServer?, socket: String? = nil) -> String {
        """
        listen: { socket: \(socket ?? configuredPath), drain_timeout: 2s }
        state: { path: \(directory)/state }
        providers:
          openai: { kind: openai, base_url: "\(mock?.baseURL ?? "http://127.0.0.1:9/v1")", api_key: "env:LLMGW_E2E_KEY" }
        models:
          - { name: smart, targets: [{ provider: openai, model: gpt-4o-mini }] }
        """
    }

    /// A listening stream socket at `activatedPath`, as a socket unit makes it.
    func bindListeningSocket() throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        descriptors.append(descriptor)
        guard withUnixAddress(path: activatedPath, { bind(descriptor, $0, $1) }) == 0, listen(descriptor, 64) == 0
        else { throw TestFailure("cannot listen on \(activatedPath)") }
        chmod(activatedPath, 0o660)
        return descriptor
    }

    /// The datagram socket at `notifyPath` the service manager would read.
    func bindNotifySocket() throws -> Int32 {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        descriptors.append(descriptor)
        guard withUnixAddress(path: notifyPath, { bind(descriptor, $0, $1) }) == 0 else {
            throw TestFailure("cannot bind \(notifyPath)")
        }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return descriptor
    }

    /// Writes `yaml` and starts `sh -c 'LISTEN_PID=$$ exec llmgw serve …'` with `inheritedDescriptor`
    /// as descriptor 3: the shell's PID is the one llmgw runs as, as systemd sets it. `namespaced`
    /// runs it as PID 1 of a PID namespace of its own, as in a pod.
    func start(
        yaml: String, inheritedDescriptor: Int32?, environment: [String: String], namespaced: Bool = false,
        configName: String = "llmgw.yaml"
    ) throws -> ActivatedGateway {
        if let inheritedDescriptor { descriptors.append(inheritedDescriptor) }
        let configPath = directory + "/" + configName
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        var merged = ProcessInfo.processInfo.environment
        merged["LISTEN_PID"] = nil
        merged["LLMGW_E2E_KEY"] = GatewayBinary.providerKey
        for (name, value) in environment { merged[name] = value }
        let command = [
            "/bin/sh", "-c", #"LISTEN_PID=$$ exec "$0" "$@""#, try GatewayBinary.url("llmgw").path, "serve",
            "--config", configPath,
        ]
        // `--kill-child`: killing unshare ends the namespace, as deleting a pod does.
        let namespace = ["/usr/bin/unshare", "--pid", "--fork", "--mount-proc", "--kill-child"]
        let gateway = try ActivatedGateway(
            arguments: namespaced ? namespace + command : command, environment: merged,
            descriptor3: inheritedDescriptor, output: outputPath, namespaced: namespaced)
        gateways.append(gateway)
        return gateway
    }

    /// The next datagram on `descriptor` that contains `text`; fails when the gateway exits first
    /// or after 60 s.
    func receive(on descriptor: Int32, containing text: String, while gateway: ActivatedGateway) async throws
        -> String
    {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let message = try await blocking { () -> String? in
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = recv(descriptor, &buffer, buffer.count, 0)
                return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
            }
            if let message, message.contains(text) { return message }
            if message == nil, !gateway.isRunning {
                throw TestFailure("llmgw exited before sending \(text): \(output())")
            }
        }
        throw TestFailure("no \(text) within 60 s: \(output())")
    }

    func output() -> String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Stops every gateway started, closes the descriptors and removes the directory.
    func stop() async {
        for gateway in gateways { await gateway.stop() }
        for descriptor in descriptors { close(descriptor) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A process spawned with one extra descriptor (3) and its stdout and stderr in one file.
/// Foundation's `Process` passes only 0–2, so this uses `posix_spawn` and reaps the process itself.
private final class ActivatedGateway: @unchecked Sendable {
    let pid: pid_t
    /// Under `unshare --fork`: signals go to unshare's child (the namespace's PID 1).
    let namespaced: Bool
    private var status: Int32?

    init(
        arguments: [String], environment: [String: String], descriptor3: Int32?, output: String, namespaced: Bool
    ) throws {
        self.namespaced = namespaced
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if let descriptor3 { posix_spawn_file_actions_adddup2(&actions, descriptor3, 3) }
        // Nothing else of the test process (other tests' pipes) reaches the gateway.
        for descriptor in Self.inheritableDescriptors() where descriptor > 3 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        guard result == 0 else {
            throw TestFailure("posix_spawn \(arguments[0]): \(String(cString: strerror(result)))")
        }
        self.pid = pid
    }

    /// This process's open descriptors without close-on-exec (glibc's `addclosefrom_np` does not
    /// import; a descriptor closed meanwhile is skipped by `posix_spawn`).
    private static func inheritableDescriptors() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return names.compactMap(Int32.init).filter { descriptor in
            let flags = fcntl(descriptor, F_GETFD)
            return flags >= 0 && flags & FD_CLOEXEC == 0
        }
    }

    var isRunning: Bool { reap() == nil }

    /// SIGTERM to the gateway (past unshare, which ignores it while it waits).
    func terminate() {
        guard namespaced else {
            kill(pid, SIGTERM)
            return
        }
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ").compactMap({ Int32($0) }) { kill(child, SIGTERM) }
    }

    /// The exit status once the process has ended, reaping it.
    private func reap() -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        let reaped = waitpid(pid, &raw, WNOHANG)
        if reaped == pid {
            status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f)
        } else if reaped < 0 {
            status = -1  // reaped by someone else: gone, status unknown
        }
        return status
    }

    /// Waits up to `timeout` for the process to end; its exit status, or nil.
    func waitForExit(timeout: Duration = .seconds(20)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let status = reap() { return status }
            await pause(seconds: 0.02)
        }
        return nil
    }

    /// SIGTERM, then SIGKILL after 10 s.
    func stop() async {
        guard isRunning else { return }
        terminate()
        if await waitForExit(timeout: .seconds(10)) == nil {
            kill(pid, SIGKILL)
            _ = await waitForExit()
        }
    }
}

import Foundation
import GatewayTesting
import RedisStore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A `redis-server` of the test's own on a Unix socket in a temporary directory (no TCP port, no
/// persistence), stopped by PID: each test calls `stop()` in a `defer` (an object's lifetime may end
/// at its last use, and `deinit` is only the backstop).
final class RedisServerProcess: @unchecked Sendable {
    static let executable = ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/usr/sbin/redis-server"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static var isInstalled: Bool { executable != nil }
    static let notInstalled: Comment = "redis-server is not installed (scripts/setup installs it)"

    let directory: String
    let socket: String
    private let arguments: [String]
    private var process: ChildProcess?

    init(_ extraArguments: [String] = []) throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("llmgw-redis-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        socket = directory + "/redis.sock"
        arguments =
            [
                "--port", "0", "--unixsocket", socket, "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                "--dir", directory, "--daemonize", "no", "--enable-debug-command", "local",
            ] + extraArguments
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var endpoint: RedisEndpoint { RedisEndpoint(address: .unix(path: socket)) }

    func start() throws {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: Self.executable!)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        self.process = process
        // Ready once the socket accepts connections.
        for _ in 0..<200 {
            if canConnect() { return }
            usleep(25_000)
        }
        stop()
        throw RedisError(.unavailable, "redis-server did not open \(socket)")
    }

    /// SIGKILL (a crash, not a shutdown), then waits for the process to go.
    func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    private func canConnect() -> Bool {
        let descriptor = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in socket.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0
            }
        }
    }
}

import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The part of Foundation's `Process` the tests use, spawned with `posix_spawn` and reaped here.
///
/// Why not `Process`: on Linux, Foundation 6.3's `Process.run()` lists `/proc/self/fd` with a
/// struct copy of each `dirent` that reads 256 bytes past a record of 24, and crashes the test
/// process when the record ends glibc's buffer before an unmapped page (swift-corelibs-foundation
/// PR #5472, fixed after 6.3.1). A suite that starts hundreds of processes hit it ("Bad pointer
/// dereference" in `Process.run`). This lists the descriptors through `FileManager`, which reads
/// names by their length.
///
/// Like `Process`: the child gets its own process group, standard streams from a `Pipe` or a
/// `FileHandle` (nil inherits the test's), the test's environment unless one is set, and no other
/// descriptor of the test process; the parent's ends of the pipes are closed after the spawn.
public final class ChildProcess: @unchecked Sendable {
    public var executableURL: URL?
    public var arguments: [String]?
    public var environment: [String: String]?
    public var standardInput: Any?
    public var standardOutput: Any?
    public var standardError: Any?

    private let state = Mutex<(pid: pid_t, status: Int32?)>((0, nil))

    public init() {}

    public var processIdentifier: Int32 { state.withLock { $0.pid } }

    public func run() throws {
        guard let path = executableURL?.path else { throw TestFailure("ChildProcess: no executableURL") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var kept: Set<Int32> = []
        for (stream, target) in [(standardInput, Int32(0)), (standardOutput, 1), (standardError, 2)] {
            guard let descriptor = Self.descriptor(of: stream, reading: target == 0) else { continue }
            posix_spawn_file_actions_adddup2(&actions, descriptor, target)
            kept.insert(descriptor)
        }
        // Nothing else of the test process (other tests' pipes and sockets) reaches the child.
        for descriptor in Self.openDescriptors() where descriptor > 2 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + (arguments ?? [])).map { strdup($0) } + [nil]
        let variables = environment ?? ProcessInfo.processInfo.environment
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
        guard result == 0 else {
            throw TestFailure("posix_spawn \(path): \(String(cString: strerror(result)))")
        }
        state.withLock { $0 = (pid, nil) }
        // As `Process` does: the child's ends of the pipes are the child's alone now.
        if let pipe = standardInput as? Pipe { try? pipe.fileHandleForReading.close() }
        if let pipe = standardOutput as? Pipe { try? pipe.fileHandleForWriting.close() }
        if let pipe = standardError as? Pipe { try? pipe.fileHandleForWriting.close() }
    }

    private static func descriptor(of stream: Any?, reading: Bool) -> Int32? {
        switch stream {
        case let pipe as Pipe:
            reading ? pipe.fileHandleForReading.fileDescriptor : pipe.fileHandleForWriting.fileDescriptor
        case let handle as FileHandle: handle.fileDescriptor
        default: nil
        }
    }

    /// This process's open descriptors, read by name length (`FileManager`), never as a whole
    /// `dirent`. A descriptor closed meanwhile is skipped by `posix_spawn`'s close action.
    private static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap(Int32.init)
    }

    public var isRunning: Bool { reap(blocking: false) == nil }

    public func waitUntilExit() { _ = reap(blocking: true) }

    /// The exit code, or the signal that ended the process (as `Process` reports it).
    public var terminationStatus: Int32 { reap(blocking: false) ?? 0 }

    public func terminate() {
        let pid = processIdentifier
        if pid > 0, reap(blocking: false) == nil { kill(pid, SIGTERM) }
    }

    /// The status once the process has ended, reaping it (`blocking`: waits for the end).
    private func reap(blocking: Bool) -> Int32? {
        let (pid, known) = state.withLock { ($0.pid, $0.status) }
        if let known { return known }
        guard pid > 0 else { return nil }
        var raw: Int32 = 0
        var reaped: pid_t
        repeat {
            reaped = waitpid(pid, &raw, blocking ? 0 : WNOHANG)
        } while reaped < 0 && errno == EINTR
        if reaped == pid {
            let status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
            state.withLock { $0.status = status }
            return status
        }
        if reaped < 0 {
            // Reaped meanwhile by another call of ours: its status is (about to be) stored.
            for _ in 0..<1000 {
                if let status = state.withLock({ $0.status }) { return status }
                usleep(1000)
            }
            state.withLock { $0.status = -1 }
            return -1
        }
        return nil
    }
}

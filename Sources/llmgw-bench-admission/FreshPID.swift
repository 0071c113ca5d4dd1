import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The benchmark's version of `llmgw`'s `PIDSupervisor`, for processes that are PID 1 of their
/// own PID namespace (pods): when the state refuses our PID because a process of another
/// namespace has the same one, run the same command again as a child, which gets the next free
/// PID of our namespace, and exit as it does. A child refused too exits with
/// `collisionExitCode` and is started again. No signal forwarding: the benchmark is stopped
/// with SIGKILL.
enum FreshPID {
    static let collisionExitCode: Int32 = 75
    static let maximumAttempts = 64
    static let childMarker = "LLMGW_BENCH_PID_CHILD"

    static func continueInChild() -> Never {
        if getenv(childMarker) != nil { exit(collisionExitCode) }
        var environment = ProcessInfo.processInfo.environment
        environment[childMarker] = "1"
        let argv: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        for _ in 0..<maximumAttempts {
            var pid: pid_t = 0
            guard posix_spawn(&pid, "/proc/self/exe", nil, nil, argv, envp) == 0 else { break }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let exited = status & 0x7f == 0
            let code = (status >> 8) & 0xff
            if exited && code == collisionExitCode { continue }
            exit(exited ? code : 128 + (status & 0x7f))
        }
        FileHandle.standardError.write(Data("llmgw-bench-admission: no free PID for the shared state\n".utf8))
        exit(1)
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Continues this command in a process with a fresh PID when the shared state refuses ours.
///
/// LMDB keys its reader table by PID, and pods are separate PID namespaces: the gateway of every
/// pod may well be PID 1 (or 7). When `LMDBEnvironment` finds that another live opener already
/// has our PID, this process becomes a tiny supervisor: it runs the same command again as a
/// child (which the kernel gives the next free PID of our namespace), forwards SIGTERM, SIGINT,
/// SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to it, reaps every child that ends (as PID 1 of a pod it
/// inherits orphans), and exits as the child does. A child that meets the same refusal exits with
/// `collisionExitCode` and is started again, up to `maximumAttempts` times.
enum PIDSupervisor {
    /// What a child exits with when its PID is taken too ("try again").
    static let collisionExitCode: Int32 = 75
    static let maximumAttempts = 64
    /// Set in the child's environment: the child reports a collision instead of supervising.
    static let childMarker = "LLMGW_PID_SUPERVISED"

    /// True in a process started by a supervisor.
    static var isSupervisedChild: Bool { getenv(childMarker) != nil }

    /// Called when the state refused our PID: never returns.
    static func continueInFreshPID(reason: String) -> Never {
        if isSupervisedChild { exit(collisionExitCode) }
        FileHandle.standardError.write(
            Data(
                (#"{"level":"notice","msg":"continuing in a fresh PID","reason":"#
                    + "\"\(reason.replacingOccurrences(of: "\"", with: "'"))\"}\n").utf8))
        exit(supervise())
    }

    private nonisolated(unsafe) static var child: pid_t = 0

    private static func supervise() -> Int32 {
        let forwarded = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2]
        for signal in forwarded {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { received in
                let target = PIDSupervisor.child
                if target > 0 { kill(target, received) }
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        var attempts = 0
        while attempts < maximumAttempts {
            attempts += 1
            guard let pid = spawnChild() else {
                FileHandle.standardError.write(Data("llmgw: cannot start the supervised process\n".utf8))
                return 1
            }
            child = pid
            let status = reap(until: pid)
            child = 0
            if exited(status), exitStatus(status) == collisionExitCode { continue }
            if exited(status) { return exitStatus(status) }
            return 128 + (status & 0x7f)  // killed by a signal
        }
        FileHandle.standardError.write(
            Data(
                ("llmgw: no free PID for the shared state after \(maximumAttempts) attempts; every PID this namespace "
                    + "handed out is in use by another sidecar. Run sidecars with distinct PIDs (hostPID, or a pid "
                    + "offset), or give each its own state.path\n").utf8))
        return 1
    }

    private static func spawnChild() -> pid_t? {
        let arguments = CommandLine.arguments
        var environment = ProcessInfo.processInfo.environment
        environment[childMarker] = "1"
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/proc/self/exe", nil, nil, argv, envp)
        return result == 0 ? pid : nil
    }

    /// Waits for `pid`, reaping any other child (orphans re-parented to us) on the way.
    private static func reap(until pid: pid_t) -> Int32 {
        while true {
            var status: Int32 = 0
            let reaped = waitpid(-1, &status, 0)
            if reaped == pid { return status }
            if reaped < 0 && errno == ECHILD { return 1 << 8 }
        }
    }

    private static func exited(_ status: Int32) -> Bool { status & 0x7f == 0 }
    private static func exitStatus(_ status: Int32) -> Int32 { (status >> 8) & 0xff }
}

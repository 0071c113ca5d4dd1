import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

/// Process-wide settings `serve` makes before anything else.
enum ProcessHardening {
    /// SIGHUP and SIGUSR1 are ignored until the key reloader's and the log reopener's handlers take
    /// them over (their default action would end the process: a reload or a logrotate `postrotate`
    /// sent too early, or to an `llmgw tail`, must not be a kill), and SIGPIPE always (a closed
    /// stdout pipe is an error from `write`, never a death).
    static func ignoreSignalsUntilHandled() {
        signal(SIGHUP, SIG_IGN)
        signal(SIGUSR1, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
    }

    /// Turns core dumps off (`log.core_dumps: false`, the default): a core of the gateway holds the
    /// provider keys and whatever prompts were in flight. `PR_SET_DUMPABLE 0` also keeps other
    /// processes of the same user from attaching a debugger or reading `/proc/PID/mem`.
    static func disableCoreDumps() -> Bool {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        let limited = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit) == 0
        return limited && setUndumpable()
    }

    /// `prctl(PR_SET_DUMPABLE, 0)`. `prctl` is variadic in C and does not import into Swift; it is
    /// looked up and called through a fixed-argument signature (identical in the x86-64 and arm64
    /// calling conventions for integer arguments).
    private static func setUndumpable() -> Bool {
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "prctl") else { return false }
        let prctl = unsafeBitCast(symbol, to: Prctl.self)
        let setDumpable: Int32 = 4  // PR_SET_DUMPABLE, from <linux/prctl.h>
        return prctl(setDumpable, 0, 0, 0, 0) == 0
    }

    /// Writes what the log still holds; called on every way out of `serve`.
    static func flushLog() {
        LineWriter.standardOutput.flush(timeout: .seconds(2))
    }

    /// Log lines are written by a thread of their own: make every `exit` (ArgumentParser exits on
    /// errors without returning) wait for them, for at most two seconds.
    static func flushLogAtExit() {
        atexit { LineWriter.standardOutput.flush(timeout: .seconds(2)) }
    }
}

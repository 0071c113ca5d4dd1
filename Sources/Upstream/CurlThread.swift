import CCurl

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Starts the one detached thread that runs the curl loop, named so it shows in `top -H` and
/// `perf`. Its end is observed through `CurlLoopInbox.waitForExit()`, not by joining.
enum CurlThread {
    /// The thread's name (Linux allows 15 bytes).
    static let name = "llmgw-curl"

    private final class Entry {
        let body: @Sendable () -> Void

        init(body: @escaping @Sendable () -> Void) {
            self.body = body
        }
    }

    static func start(_ body: @escaping @Sendable () -> Void) {
        let entry = Unmanaged.passRetained(Entry(body: body)).toOpaque()
        #if canImport(Darwin)
            var thread: pthread_t?
        #else
            var thread = pthread_t()
        #endif
        let code = pthread_create(
            &thread, nil,
            { argument in
                guard let argument else { preconditionFailure("curl thread started without its entry") }
                let entry = Unmanaged<Entry>.fromOpaque(argument).takeRetainedValue()
                #if canImport(Darwin)
                    _ = pthread_setname_np(CurlThread.name)
                #else
                    _ = llmgw_name_this_thread(CurlThread.name)
                #endif
                entry.body()
                return nil
            }, entry)
        precondition(code == 0, "pthread_create failed: \(code)")
        #if canImport(Darwin)
            let detached = pthread_detach(thread!)
        #else
            let detached = pthread_detach(thread)
        #endif
        precondition(detached == 0, "pthread_detach failed: \(detached)")
    }
}

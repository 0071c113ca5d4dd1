import CHiredis

#if canImport(Glibc)
    import Glibc
#endif

/// One hiredis connection (blocking API), used by one worker thread of `RedisClient` only.
///
/// Every hiredis failure leaves its context unusable (a timed-out read may still deliver its
/// reply later), so any error closes the connection; the next call connects again.
final class RedisConnection {
    private let endpoint: RedisEndpoint
    private var context: UnsafeMutablePointer<redisContext>?

    init(endpoint: RedisEndpoint) { self.endpoint = endpoint }

    deinit { close() }

    var isConnected: Bool { context != nil }

    func close() {
        if let context { redisFree(context) }
        context = nil
    }

    /// Connects, then logs in (AUTH) and selects the database in one round trip.
    func connect(deadline: UInt64) throws(RedisError) {
        close()
        let timeout = Self.timeval(until: deadline)
        let fresh: UnsafeMutablePointer<redisContext>? =
            switch endpoint.address {
            case .tcp(let host, let port): redisConnectWithTimeout(host, Int32(port), timeout)
            case .unix(let path): redisConnectUnixWithTimeout(path, timeout)
            }
        guard let fresh else { throw RedisError(.unavailable, "cannot connect to \(endpoint): out of memory") }
        guard fresh.pointee.err == 0 else {
            let why = Self.errorText(fresh)
            redisFree(fresh)
            throw RedisError(.unavailable, "cannot connect to \(endpoint): \(why)")
        }
        if case .tcp = endpoint.address { _ = redisEnableKeepAlive(fresh) }
        context = fresh
        var login: [[String]] = []
        if let password = endpoint.password {
            login.append(endpoint.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        }
        if endpoint.database != 0 { login.append(["SELECT", String(endpoint.database)]) }
        guard !login.isEmpty else { return }
        let replies = try send(login, deadline: deadline)
        for (command, reply) in zip(login, replies) {
            guard case .error(let message) = reply else { continue }
            close()
            let user = endpoint.username.map { " of user \($0)" } ?? ""
            let what = command[0] == "AUTH" ? "refused the credentials\(user)" : "refused database \(endpoint.database)"
            throw RedisError(.authentication, "\(endpoint) \(what): \(redacted(message))")
        }
    }

    /// Sends `commands` in one write (pipelining) and reads one reply per command.
    func send(_ commands: [[String]], deadline: UInt64) throws(RedisError) -> [RedisReply] {
        guard let context else { throw RedisError(.unavailable, "not connected to \(endpoint)") }
        guard redisSetTimeout(context, Self.timeval(until: deadline)) == REDIS_OK else { throw failure() }
        for command in commands {
            guard Self.append(command, to: context) == REDIS_OK else { throw failure() }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw failure() }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(RedisReply(UnsafePointer(reply)))
            freeReplyObject(raw)
        }
        return replies
    }

    /// The error of the current context, which is then closed.
    private func failure() -> RedisError {
        let code = errno
        guard let context else { return RedisError(.unavailable, "not connected to \(endpoint)") }
        let kind = context.pointee.err
        let why = Self.errorText(context)
        close()
        if kind == REDIS_ERR_IO && (code == EAGAIN || code == EWOULDBLOCK) {
            return RedisError(.timeout, "\(endpoint) did not answer in time")
        }
        if kind == REDIS_ERR_PROTOCOL { return RedisError(.protocolViolation, "\(endpoint): \(why)") }
        return RedisError(.unavailable, "lost the connection to \(endpoint): \(why)")
    }

    /// A server message with the password (should a server ever echo it) masked.
    private func redacted(_ message: String) -> String {
        guard let password = endpoint.password, !password.isEmpty else { return message }
        return message.replacing(password, with: "***")
    }

    private static func append(_ command: [String], to context: UnsafeMutablePointer<redisContext>) -> Int32 {
        // Binary-safe: each argument with its length, copied into C memory for the call.
        let arguments = command.map { Array($0.utf8) }
        let pointers = arguments.map { bytes -> UnsafeMutablePointer<CChar> in
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, bytes.count))
            bytes.withUnsafeBytes { source in
                UnsafeMutableRawBufferPointer(start: pointer, count: bytes.count).copyMemory(from: source)
            }
            return pointer
        }
        defer { pointers.forEach { $0.deallocate() } }
        var argv = pointers.map { UnsafePointer<CChar>?(UnsafePointer($0)) }
        var lengths = arguments.map { $0.count }
        return redisAppendCommandArgv(context, Int32(command.count), &argv, &lengths)
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }

    /// The time left until `deadline` (monotonic ns), at least a millisecond.
    static func timeval(until deadline: UInt64) -> Glibc.timeval {
        let now = RedisClock.now()
        let left = deadline > now ? deadline - now : 0
        let micros = max(1000, left / 1000)
        return Glibc.timeval(tv_sec: Int(micros / 1_000_000), tv_usec: Int(micros % 1_000_000))
    }
}

enum RedisClock {
    /// Monotonic nanoseconds.
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}

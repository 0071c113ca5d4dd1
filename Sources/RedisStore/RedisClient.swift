import Crypto

/// A Redis/Valkey client over hiredis' blocking API: a small pool of connections, each owned by
/// a dedicated thread (`RedisWorkers`), so no cooperative thread ever blocks on the network.
///
/// - Every call waits at most `timeout` (queue wait included), then throws `.timeout`. A call
///   that timed out may still have been executed by the server.
/// - A connection logs in (`AUTH` password, or ACL user and password) and selects its database
///   when it connects; wrong credentials fail with `.authentication` (`check()` at start).
/// - After an error the connection is closed and the next call connects again; a failed connect
///   makes calls fail at once for a capped, doubling backoff (no hang while Redis is down).
/// - Several commands of one call (`pipeline`, a script's first load) go out in one write.
public final class RedisClient: Sendable {
    public struct Configuration: Sendable {
        /// Connections (and threads) in the pool.
        public var connections: Int
        /// The longest any call waits, connecting included.
        public var timeout: Duration
        /// First wait after a failed connect, doubled per failure up to `maxBackoff`.
        public var initialBackoff: Duration
        public var maxBackoff: Duration

        public init(
            connections: Int = 4, timeout: Duration = .milliseconds(250), initialBackoff: Duration = .milliseconds(50),
            maxBackoff: Duration = .seconds(2)
        ) {
            self.connections = connections
            self.timeout = timeout
            self.initialBackoff = initialBackoff
            self.maxBackoff = maxBackoff
        }
    }

    public let endpoint: RedisEndpoint
    public let configuration: Configuration
    private let workers: RedisWorkers

    public init(endpoint: RedisEndpoint, configuration: Configuration = .init()) {
        self.endpoint = endpoint
        self.configuration = configuration
        self.workers = RedisWorkers(
            endpoint: endpoint, connections: configuration.connections, timeout: configuration.timeout,
            backoff: RedisBackoff(initial: configuration.initialBackoff, cap: configuration.maxBackoff))
    }

    deinit { workers.stop() }

    /// Fails every queued call and stops the threads (each closes its connection).
    public func shutdown() { workers.stop() }

    /// One command; an error reply is returned as `.error`, not thrown.
    public func command(_ arguments: [String]) async throws(RedisError) -> RedisReply {
        try await submit { connection, deadline throws(RedisError) in
            try connection.send([arguments], deadline: deadline)[0]
        }
    }

    /// Several commands in one round trip; one reply each, in order.
    public func pipeline(_ commands: [[String]]) async throws(RedisError) -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        let reply = try await submit { connection, deadline throws(RedisError) in
            .array(try connection.send(commands, deadline: deadline))
        }
        return reply.array ?? []
    }

    /// Runs `script` with `EVALSHA`; on `NOSCRIPT` (a server that has not seen it, or was
    /// restarted) loads it with `SCRIPT LOAD` and runs it in the same round trip.
    public func evaluate(_ script: RedisScript, keys: [String] = [], arguments: [String]) async throws(RedisError)
        -> RedisReply
    {
        let call = ["EVALSHA", script.sha1, String(keys.count)] + keys + arguments
        return try await submit { connection, deadline throws(RedisError) in
            let reply = try connection.send([call], deadline: deadline)[0]
            guard case .error(let message) = reply, message.hasPrefix("NOSCRIPT") else { return reply }
            return try connection.send([["SCRIPT", "LOAD", script.source], call], deadline: deadline)[1]
        }
    }

    /// Connects and pings: throws a clear error for a wrong password, an unknown ACL user, a
    /// server that needs a password, a missing database, or an unreachable server.
    public func check() async throws(RedisError) {
        let reply = try await command(["PING"])
        switch reply {
        case .status("PONG"): return
        case .error(let message) where message.hasPrefix("NOAUTH"):
            throw RedisError(.authentication, "\(endpoint) requires a password (set shared.password)")
        case .error(let message):
            throw RedisError(.server, "\(endpoint) refused PING: \(message)")
        default:
            throw RedisError(.protocolViolation, "\(endpoint) answered PING with \(reply)")
        }
    }

    private func submit(_ work: @escaping RedisCall.Work) async throws(RedisError) -> RedisReply {
        let deadline = RedisClock.now() &+ UInt64(max(1_000_000, configuration.timeout.nanoseconds))
        let result = await withCheckedContinuation { continuation in
            workers.enqueue(RedisCall(deadline: deadline, work: work, continuation: continuation))
        }
        return try result.get()
    }
}

/// A Lua script and its SHA-1, for `RedisClient.evaluate`.
public struct RedisScript: Sendable {
    public let source: String
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = Insecure.SHA1.hash(data: Array(source.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}

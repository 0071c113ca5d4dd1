/// Everything the Redis client can fail with. Descriptions name the endpoint without its
/// password (`RedisEndpoint.description`) and never include a credential.
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Equatable {
        /// The `shared.redis` URL (or its credentials) is malformed or unsupported.
        case invalidEndpoint
        /// No connection: refused, reset, closed, or waiting out the reconnect backoff.
        case unavailable
        /// The call did not complete within the configured timeout.
        case timeout
        /// AUTH was refused (wrong password, unknown or disabled ACL user) or SELECT failed.
        case authentication
        /// The server answered with an error reply (`-ERR …`).
        case server
        /// The server's answer did not have the expected shape.
        case protocolViolation
        /// The client was shut down.
        case shutdown
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "redis \(code.rawValue): \(message)" }
}

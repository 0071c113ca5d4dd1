import GatewayCore

/// Why no access token could be had for a provider. `detail` is for the attempt record and the
/// log: it never holds a token, a key or a key file's contents.
public struct AccessTokenFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The credential itself is unusable (a key file that does not parse, a key that does not load).
        case credentials
        /// The token endpoint (or metadata server) could not be reached, or timed out.
        case transport
        /// The endpoint answered with an error, or with something that is not a token.
        case refused
    }

    public let kind: Kind
    public let detail: String
    /// The transport failure was a timeout.
    public let isTimeout: Bool

    public init(_ kind: Kind, _ detail: String, isTimeout: Bool = false) {
        self.kind = kind
        self.detail = detail
        self.isTimeout = isTimeout
    }

    public var description: String { "access token: \(detail)" }
}

import Crypto
import GatewayCore

/// Who is calling (the identify stage's check). Virtual keys arrive as `Authorization: Bearer sk-llmgw-…` or
/// `x-api-key: sk-llmgw-…`; the secret is hashed and compared in constant time with the stored
/// hash. Errors never echo the presented key.
///
/// `mode: peer` identifies the Unix-socket caller by its kernel credentials (SO_PEERCRED); by
/// itself it authorizes every local process that can open the socket. `auth.peer.allow_uids` /
/// `allow_gids` restrict it: a caller whose uid or gid is in neither list gets 403.
struct Authenticator: Sendable {
    struct Identity: Sendable {
        /// `key:<id>`, `peer:uid=N` or `anonymous`.
        var caller: String
        var key: VirtualKeyRecord?
    }

    let mode: AuthConfiguration.Mode
    let allowedUIDs: Set<UInt32>
    let allowedGIDs: Set<UInt32>
    let keys: (any KeyStore)?

    init(configuration: AuthConfiguration, keys: (any KeyStore)?) {
        self.mode = configuration.mode
        self.allowedUIDs = Set(configuration.peerAllowedUIDs)
        self.allowedGIDs = Set(configuration.peerAllowedGIDs)
        self.keys = keys
    }

    func identify(_ request: GatewayRequest, nowMillis: Int64) async throws(GatewayError) -> Identity {
        let peer = request.peer.map { "peer:uid=\($0.uid)" }
        switch mode {
        case .none:
            return Identity(caller: peer ?? "anonymous", key: nil)
        case .peer:
            guard let peer, let credentials = request.peer else {
                throw GatewayError(
                    .unauthorized,
                    "This gateway identifies callers by their Unix-socket credentials; connect through the socket."
                )
            }
            guard allows(credentials) else {
                throw GatewayError(.forbidden, "This process (uid \(credentials.uid)) may not use this gateway.")
            }
            return Identity(caller: peer, key: nil)
        case .keys:
            let record = try await virtualKey(request, nowMillis: nowMillis)
            return Identity(caller: "key:\(record.publicID)", key: record)
        }
    }

    /// True when no allow-list is configured, or the peer's uid or gid is on it.
    func allows(_ peer: PeerCredentials) -> Bool {
        if allowedUIDs.isEmpty && allowedGIDs.isEmpty { return true }
        return allowedUIDs.contains(peer.uid) || allowedGIDs.contains(peer.gid)
    }

    private func virtualKey(_ request: GatewayRequest, nowMillis: Int64) async throws(GatewayError)
        -> VirtualKeyRecord
    {
        guard let presented = Self.presentedKey(request) else {
            throw GatewayError(
                .unauthorized, "Missing API key: send it as 'Authorization: Bearer <key>' or 'x-api-key'.")
        }
        let invalid = GatewayError(.unauthorized, "Incorrect API key provided.")
        guard let token = VirtualKeyToken(parsing: presented), let keys else { throw invalid }
        let record: VirtualKeyRecord?
        do {
            record = try await keys.key(publicID: token.publicID)
        } catch {
            throw GatewayError(
                .unavailable, "The gateway's key store is unavailable; try again shortly.", retryAfterSeconds: 1)
        }
        guard let record, Self.constantTimeEqual(Self.hash(token.secret), record.secretHash) else { throw invalid }
        if let reason = record.unusableReason(atMillis: nowMillis) {
            throw GatewayError(.unauthorized, "This API key is \(reason).")
        }
        return record
    }

    static func presentedKey(_ request: GatewayRequest) -> String? {
        if let authorization = request.header("authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { return String(parts[1]).trimmingCharacters() }
        }
        return request.header("x-api-key")?.trimmingCharacters()
    }

    /// SHA-256 of a key secret, as stored.
    static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// Hashing for the CLI, which creates keys.
public enum VirtualKeyHashing {
    public static func hash(secret: String) -> [UInt8] { Authenticator.hash(secret) }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var slice = self[...]
        while slice.first == " " { slice = slice.dropFirst() }
        while slice.last == " " { slice = slice.dropLast() }
        return String(slice)
    }
}

import Crypto
import GatewayCore

/// Stage 2: who is calling. Virtual keys arrive as `Authorization: Bearer sk-llmgw-…` or
/// `x-api-key: sk-llmgw-…`; the secret is hashed and compared in constant time with the stored
/// hash. Errors never echo the presented key.
struct Authenticator {
    struct Identity {
        /// `key:<id>`, `peer:uid=N` or `anonymous`.
        var caller: String
        var key: VirtualKeyRecord?
    }

    let mode: AuthConfiguration.Mode
    let keys: (any KeyStore)?

    func identify(_ request: GatewayRequest, nowMillis: Int64) async throws(GatewayError) -> Identity {
        let peer = request.peer.map { "peer:uid=\($0.uid)" }
        switch mode {
        case .none:
            return Identity(caller: peer ?? "anonymous", key: nil)
        case .peer:
            guard let peer else {
                throw GatewayError(
                    .unauthorized,
                    "This gateway identifies callers by their Unix-socket credentials; connect through the socket."
                )
            }
            return Identity(caller: peer, key: nil)
        case .keys:
            let record = try await virtualKey(request, nowMillis: nowMillis)
            return Identity(caller: "key:\(record.publicID)", key: record)
        }
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

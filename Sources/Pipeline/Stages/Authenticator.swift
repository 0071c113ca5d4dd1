import Crypto
import GatewayCore

/// Who is calling (the identify stage's check). Virtual keys arrive as `Authorization: Bearer sk-llmgw-…` or
/// `x-api-key: sk-llmgw-…`; the secret is hashed and compared in constant time with the stored
/// hash. Errors never echo the presented key.
///
/// `mode: peer` identifies the Unix-socket caller by its kernel credentials (SO_PEERCRED, and its
/// supplementary groups by SO_PEERGROUPS). `auth.peer.allow_uids` / `allow_gids` restrict it: a
/// caller whose uid or gid is in neither list gets 403. With `callers:` declared, the process is
/// the first declared caller it matches (`peer:<name>`, with that caller's limits and models), and
/// a process that matches none gets 403. `mode: keys_or_peer`: a virtual key (`sk-llmgw-…`) is
/// checked and never falls back; without one, the process must be a declared caller (else 401).
/// `mode: none` still names a declared caller and applies its limits, and serves everyone else.
struct Authenticator: Sendable {
    /// The caller, and what applies to it.
    struct Identity: Sendable {
        /// `key:<id>`, `peer:<name>`, `peer:uid=N` or `anonymous`.
        var caller: String
        var key: VirtualKeyRecord?
        /// The caller's own limits: `key:<id>` or `caller:<name>`; nil when it has none.
        var limits: AdmissionScope?
        /// A team whose limits and budget apply too.
        var team: String?
        /// The model aliases it may use; nil means all.
        var allowedModels: [String]?
        /// A `callers:` entry's guardrails, applied after the model's.
        var guardrails: [String] = []
        /// How refusals name it: "API key" or "caller".
        var noun: String

        /// Identified, with nothing of its own to apply (`anonymous`, `peer:uid=N`).
        init(caller: String) {
            self.caller = caller
            self.noun = "caller"
        }

        init(key record: VirtualKeyRecord) {
            caller = "key:\(record.publicID)"
            key = record
            limits = record.limits.isEmpty ? nil : AdmissionScope(id: "key:\(record.publicID)", limits: record.limits)
            team = record.team
            allowedModels = record.allowedModels
            noun = "API key"
        }

        init(declared: CallerConfiguration) {
            caller = "peer:\(declared.name)"
            limits =
                declared.limits.isEmpty ? nil : AdmissionScope(id: "caller:\(declared.name)", limits: declared.limits)
            team = declared.team
            allowedModels = declared.allowedModels
            guardrails = declared.guardrails
            noun = "caller"
        }

        static let anonymous = Identity(caller: "anonymous")
    }

    let mode: AuthConfiguration.Mode
    let allowedUIDs: Set<UInt32>
    let allowedGIDs: Set<UInt32>
    let callers: [CallerConfiguration]
    let keys: (any KeyStore)?

    init(configuration: AuthConfiguration, callers: [CallerConfiguration] = [], keys: (any KeyStore)?) {
        self.mode = configuration.mode
        self.allowedUIDs = Set(configuration.peerAllowedUIDs)
        self.allowedGIDs = Set(configuration.peerAllowedGIDs)
        self.callers = callers
        self.keys = keys
    }

    func identify(_ request: GatewayRequest, nowMillis: Int64) async throws(GatewayError) -> Identity {
        switch mode {
        case .none:
            guard let peer = request.peer else { return .anonymous }
            return declaredCaller(peer).map(Identity.init(declared:)) ?? Identity(caller: "peer:uid=\(peer.uid)")
        case .peer:
            guard let peer = request.peer else {
                throw GatewayError(
                    .unauthorized,
                    "This gateway identifies callers by their Unix-socket credentials; connect through the socket."
                )
            }
            guard allows(peer) else {
                throw GatewayError(.forbidden, "This process (uid \(peer.uid)) may not use this gateway.")
            }
            if let declared = declaredCaller(peer) { return Identity(declared: declared) }
            guard callers.isEmpty else {
                throw GatewayError(
                    .forbidden,
                    "This process (uid \(peer.uid), gid \(peer.gid)) is not a declared caller of this gateway.")
            }
            return Identity(caller: "peer:uid=\(peer.uid)")
        case .keys:
            return Identity(key: try await virtualKey(request, nowMillis: nowMillis))
        case .keysOrPeer:
            // Only a virtual key counts as presented: SDKs insist on sending some api key, and a
            // placeholder ("unused") must not turn a declared caller away.
            if let presented = Self.presentedKey(request), presented.hasPrefix(VirtualKeyToken.textPrefix) {
                return Identity(key: try await virtualKey(request, nowMillis: nowMillis))
            }
            guard let peer = request.peer, allows(peer), let declared = declaredCaller(peer) else {
                throw GatewayError(
                    .unauthorized,
                    "Missing API key: send it as 'Authorization: Bearer <key>' or 'x-api-key' "
                        + "(this process is not a declared caller of this gateway).")
            }
            return Identity(declared: declared)
        }
    }

    /// The first declared caller the peer matches.
    func declaredCaller(_ peer: PeerCredentials) -> CallerConfiguration? {
        callers.first { $0.matches(uid: peer.uid, gid: peer.gid, groups: peer.groups) }
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

import Synchronization

/// The resolved provider keys, by provider name. Swapped whole on SIGHUP; read on every attempt.
/// Keys live only here and in the headers of upstream requests: never in logs, errors or state.
/// So do the OAuth2 access tokens minted for Vertex AI providers (`tokens`, see
/// `ProviderKeyring+Credentials.swift`).
public final class ProviderKeyring: Sendable {
    private let keys: Mutex<[String: String]>
    let tokens = AccessTokenCache()

    public init(_ keys: [String: String] = [:]) {
        self.keys = Mutex(keys)
    }

    public func key(for provider: String) -> String? {
        keys.withLock { $0[provider] }
    }

    public func replace(with newKeys: [String: String]) {
        keys.withLock { $0 = newKeys }
    }

    /// Every key and access token, for scrubbing provider error bodies before they are relayed.
    func allKeys() -> [String] {
        keys.withLock { Array($0.values) } + tokens.allTokens()
    }
}

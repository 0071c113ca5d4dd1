import Synchronization

/// The resolved provider keys, by provider name. Swapped whole on SIGHUP; read on every attempt.
/// Keys live only here and in the headers of upstream requests: never in logs, errors or state.
public final class ProviderKeyring: Sendable {
    private let keys: Mutex<[String: String]>

    public init(_ keys: [String: String] = [:]) {
        self.keys = Mutex(keys)
    }

    public func key(for provider: String) -> String? {
        keys.withLock { $0[provider] }
    }

    public func replace(with newKeys: [String: String]) {
        keys.withLock { $0 = newKeys }
    }

    /// Every key, for scrubbing provider error bodies before they are relayed.
    func allKeys() -> [String] {
        keys.withLock { Array($0.values) }
    }
}

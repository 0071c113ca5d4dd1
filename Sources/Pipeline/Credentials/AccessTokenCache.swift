import Synchronization

/// The access tokens of one keyring, by provider name, each behind an `AccessTokenRefresh`: a
/// token is reused until its refresh time, then replaced by one background mint while it is still
/// used; without a valid token, requests wait for a single mint. Tokens live only in this process's
/// memory: never in the shared state, a log or an error. A reload (a new keyring) mints anew.
final class AccessTokenCache: Sendable {
    private struct Slot {
        var refresh = AccessTokenRefresh()
        var tasks: [Int: Task<AccessToken, any Error>] = [:]
    }

    /// A token handed out, and whether it came from the cache (a 401 to it may heal with a new one).
    struct Issued: Sendable {
        let value: String
        let cached: Bool
    }

    private let slots = Mutex<[String: Slot]>([:])

    /// The token for `key`: the cached one, the one being minted, or a new mint with `mint`. A
    /// mint runs in a task of its own, so a request that goes away does not cancel it for the others.
    func token(
        for key: String,
        nowMillis: @Sendable () -> Int64,
        mint: @escaping @Sendable () async throws(AccessTokenFailure) -> AccessToken
    ) async throws(AccessTokenFailure) -> Issued {
        let now = nowMillis()
        let (action, task) = slots.withLock { slots -> (AccessTokenRefresh.Action, Task<AccessToken, any Error>?) in
            let action = slots[key, default: Slot()].refresh.request(nowMillis: now)
            switch action {
            case .use:
                return (action, nil)
            case .mint(let flight), .refresh(let flight, _):
                let task = Task<AccessToken, any Error> {
                    do {
                        let token = try await mint()
                        self.finish(key, flight: flight, with: token)
                        return token
                    } catch {
                        self.finish(key, flight: flight, with: nil)
                        throw error
                    }
                }
                slots[key]?.tasks[flight] = task
                return (action, task)
            case .join(let flight):
                return (action, slots[key]?.tasks[flight])
            }
        }
        switch action {
        case .use(let value), .refresh(_, let value):
            return Issued(value: value, cached: true)
        case .mint(let flight), .join(let flight):
            guard let task else { preconditionFailure("mint \(flight) has no task") }
            do {
                return Issued(value: try await task.value.value, cached: false)
            } catch {
                throw error as? AccessTokenFailure ?? AccessTokenFailure(.transport, "the token request was cancelled")
            }
        }
    }

    /// Mint `flight` ended: its token is installed, or the next request tries again.
    private func finish(_ key: String, flight: Int, with token: AccessToken?) {
        slots.withLock {
            if let token {
                $0[key]?.refresh.minted(token, flight: flight)
            } else {
                $0[key]?.refresh.failed(flight: flight)
            }
            $0[key]?.tasks[flight] = nil
        }
    }

    /// The provider refused `value`: the next request mints a new one.
    func invalidate(_ value: String, for key: String) {
        slots.withLock { $0[key]?.refresh.invalidate(value) }
    }

    /// Every cached token, for scrubbing what providers send back.
    func allTokens() -> [String] {
        slots.withLock { $0.values.compactMap { $0.refresh.token?.value } }
    }
}

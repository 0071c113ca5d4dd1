/// An OAuth2 access token and its lifetime (epoch milliseconds).
struct AccessToken: Sendable, Equatable {
    let value: String
    let issuedAtMillis: Int64
    let expiresAtMillis: Int64

    /// From here on a new token is minted: `max(300 s, 10 %)` of its lifetime before expiry (as
    /// docs/wire/vertex.md §6.4 advises), but never earlier than half-way through it.
    var refreshAtMillis: Int64 {
        let lifetime = expiresAtMillis - issuedAtMillis
        let margin = min(max(300_000, lifetime / 10), lifetime / 2)
        return expiresAtMillis - margin
    }
}

/// The cached token of one credential, and whether a mint is under way: a pure state machine
/// (no clock reads, no I/O; `now` is passed in). Its owner (`AccessTokenCache`) performs the mints
/// it asks for, one at a time per credential (single flight):
///
/// - a token before its refresh time is used;
/// - past it but still valid, it is still used, and the first such request starts the mint of
///   its successor without waiting for it (a failed refresh costs nothing while the token lasts);
/// - with no valid token every request waits for the one mint in flight, or starts it.
struct AccessTokenRefresh: Sendable {
    enum Action: Sendable, Equatable {
        /// Send this token.
        case use(String)
        /// Start mint `flight` and wait for it.
        case mint(flight: Int)
        /// Start mint `flight` and send `meanwhile`, still valid, without waiting.
        case refresh(flight: Int, meanwhile: String)
        /// Wait for mint `flight`, already under way.
        case join(flight: Int)
    }

    private(set) var token: AccessToken?
    private(set) var flight: Int?
    private var flights = 0

    mutating func request(nowMillis: Int64) -> Action {
        if let token, nowMillis < token.refreshAtMillis { return .use(token.value) }
        if let token, nowMillis < token.expiresAtMillis {
            guard flight == nil else { return .use(token.value) }
            return .refresh(flight: startFlight(), meanwhile: token.value)
        }
        if let flight { return .join(flight: flight) }
        return .mint(flight: startFlight())
    }

    private mutating func startFlight() -> Int {
        flights += 1
        flight = flights
        return flights
    }

    /// Mint `flight` produced `token`. A late answer of an earlier flight is ignored.
    mutating func minted(_ token: AccessToken, flight: Int) {
        guard self.flight == flight else { return }
        self.token = token
        self.flight = nil
    }

    /// Mint `flight` failed; the next request tries again.
    mutating func failed(flight: Int) {
        guard self.flight == flight else { return }
        self.flight = nil
    }

    /// The provider refused `value` (a 401): it is not used again.
    mutating func invalidate(_ value: String) {
        if token?.value == value { token = nil }
    }
}

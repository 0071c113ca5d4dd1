import Testing

@testable import Pipeline

/// The refresh state machine alone: fed times and mint outcomes, checked by the actions it returns.
@Suite struct AccessTokenRefreshTests {
    static func token(_ value: String, at issued: Int64, lifetime seconds: Int64) -> AccessToken {
        AccessToken(value: value, issuedAtMillis: issued, expiresAtMillis: issued + seconds * 1000)
    }

    @Test func theFirstRequestMintsAndTheOthersJoinIt() {
        var refresh = AccessTokenRefresh()
        #expect(refresh.request(nowMillis: 0) == .mint(flight: 1))
        #expect(refresh.request(nowMillis: 1) == .join(flight: 1))
        refresh.minted(Self.token("a", at: 5, lifetime: 3599), flight: 1)
        #expect(refresh.request(nowMillis: 10) == .use("a"))
    }

    @Test func aTokenIsRefreshedAMarginBeforeItExpiresAndServedUntilTheNewOneIsIn() {
        var refresh = AccessTokenRefresh()
        _ = refresh.request(nowMillis: 0)
        let first = Self.token("a", at: 0, lifetime: 3600)
        refresh.minted(first, flight: 1)
        // max(300 s, 10 %) = 360 s before expiry.
        #expect(first.refreshAtMillis == 3_240_000)
        #expect(refresh.request(nowMillis: 3_239_999) == .use("a"))
        // The first request past it starts the refresh and keeps the still-valid token.
        #expect(refresh.request(nowMillis: 3_240_000) == .refresh(flight: 2, meanwhile: "a"))
        // While mint 2 runs, the others use it too.
        #expect(refresh.request(nowMillis: 3_300_000) == .use("a"))
        // Past its expiry they wait.
        #expect(refresh.request(nowMillis: 3_600_000) == .join(flight: 2))
        refresh.minted(Self.token("b", at: 3_600_000, lifetime: 3600), flight: 2)
        #expect(refresh.request(nowMillis: 3_600_001) == .use("b"))
    }

    @Test func aShortLivedTokenIsRefreshedHalfWay() {
        // A metadata-server token with 60 s left: refreshed after 30 s, not at once.
        #expect(Self.token("m", at: 0, lifetime: 60).refreshAtMillis == 30_000)
        #expect(Self.token("m", at: 0, lifetime: 1967).refreshAtMillis == 1_667_000)
    }

    @Test func aFailedRefreshIsTriedAgainWhileTheOldTokenLasts() {
        var refresh = AccessTokenRefresh()
        _ = refresh.request(nowMillis: 0)
        refresh.minted(Self.token("a", at: 0, lifetime: 3600), flight: 1)
        #expect(refresh.request(nowMillis: 3_300_000) == .refresh(flight: 2, meanwhile: "a"))
        refresh.failed(flight: 2)
        #expect(refresh.request(nowMillis: 3_301_000) == .refresh(flight: 3, meanwhile: "a"))
        refresh.failed(flight: 3)
        #expect(refresh.request(nowMillis: 3_600_000) == .mint(flight: 4))
    }

    @Test func aFailedMintLetsTheNextRequestTryAgain() {
        var refresh = AccessTokenRefresh()
        #expect(refresh.request(nowMillis: 0) == .mint(flight: 1))
        refresh.failed(flight: 1)
        #expect(refresh.request(nowMillis: 1) == .mint(flight: 2))
        // A late answer of the failed flight does not install a token.
        refresh.minted(Self.token("late", at: 1, lifetime: 3600), flight: 1)
        #expect(refresh.token == nil)
    }

    @Test func anInvalidatedTokenIsNotUsedAgain() {
        var refresh = AccessTokenRefresh()
        _ = refresh.request(nowMillis: 0)
        refresh.minted(Self.token("a", at: 0, lifetime: 3600), flight: 1)
        refresh.invalidate("other")
        #expect(refresh.request(nowMillis: 1) == .use("a"))
        refresh.invalidate("a")
        #expect(refresh.request(nowMillis: 2) == .mint(flight: 2))
    }
}

import Testing

@testable import GatewayCore

@Suite struct GCRATests {
    let minute: Int64 = 60_000_000

    @Test func admitsExactlyTheLimitInABurst() {
        let limiter = GCRA(limit: 20)
        var tat: Int64 = 0
        var admitted = 0
        for step in 0..<100 {
            // 100 requests within 2 seconds: less than one emission interval (3 s).
            let now = 1_000_000_000 + Int64(step) * 20_000
            if case .admitted(let newTAT, _) = limiter.check(tat: tat, cost: 1, now: now) {
                tat = newTAT
                admitted += 1
            }
        }
        #expect(admitted == 20)
    }

    @Test func refillsAtTheEmissionRate() {
        let limiter = GCRA(limit: 60)
        var tat: Int64 = 0
        let start: Int64 = 5_000_000_000
        for _ in 0..<60 {
            guard case .admitted(let newTAT, _) = limiter.check(tat: tat, cost: 1, now: start) else {
                Issue.record("burst refused early")
                return
            }
            tat = newTAT
        }
        guard case .limited(let retry) = limiter.check(tat: tat, cost: 1, now: start) else {
            Issue.record("61st admitted")
            return
        }
        #expect(retry == 1_000_000)
        if case .limited = limiter.check(tat: tat, cost: 1, now: start + retry) {
            Issue.record("not admitted after retry-after")
        }
    }

    @Test func chargesLargerCostsForTokens() {
        let limiter = GCRA(limit: 1000)
        guard case .admitted(let tat, let remaining) = limiter.check(tat: 0, cost: 600, now: 0) else {
            Issue.record("600 of 1000 refused")
            return
        }
        #expect(remaining == 400)
        guard case .limited(let retry) = limiter.check(tat: tat, cost: 600, now: 0) else {
            Issue.record("1200 of 1000 admitted")
            return
        }
        #expect(retry == 12_000_000)  // 200 tokens at 1000/min
        #expect(limiter.check(tat: 0, cost: 1001, now: 0) == .limited(retryAfterMicros: minute))
    }

    @Test func adjustRefundsButNeverBanksThePast() {
        let limiter = GCRA(limit: 100)
        let now: Int64 = 10 * 60_000_000
        guard case .admitted(let tat, _) = limiter.check(tat: 0, cost: 50, now: now) else {
            Issue.record("50 of 100 refused")
            return
        }
        let refunded = limiter.adjust(tat: tat, delta: -40, now: now)
        #expect(refunded == now + 6_000_000)
        #expect(limiter.adjust(tat: refunded, delta: -1000, now: now) == now)
        #expect(limiter.adjust(tat: refunded, delta: 10, now: now) == now + 12_000_000)
    }
}

import Testing

@testable import GatewayCore

@Suite struct CircuitBreakerTests {
    let policy = CircuitPolicy(failures: 3, window: .seconds(10), cooldown: .seconds(30))

    private func failing(_ count: Int, from start: Int64 = 1_000, step: Int64 = 100) -> CircuitState {
        var state = CircuitState()
        for index in 0..<count {
            state = CircuitBreaker.record(state, success: false, policy: policy, nowMillis: start + Int64(index) * step)
        }
        return state
    }

    @Test func opensAfterTheFailuresWithinTheWindow() {
        let state = failing(3)
        #expect(state.openUntilMillis == 1_200 + 30_000)
        #expect(CircuitBreaker.check(state, policy: policy, nowMillis: 2_000).0 == .open(untilMillis: 31_200))
        #expect(CircuitBreaker.check(failing(2), policy: policy, nowMillis: 2_000).0 == .closed)
    }

    @Test func failuresOutsideTheWindowDoNotAddUp() {
        let state = failing(3, step: 6_000)
        #expect(state.openUntilMillis == 0)
    }

    @Test func exactlyOneProbeAfterTheCooldownAndItsOutcomeDecides() {
        let open = failing(3)
        let (first, claimed) = CircuitBreaker.check(open, policy: policy, nowMillis: 40_000)
        #expect(first == .probe)
        let (second, _) = CircuitBreaker.check(claimed, policy: policy, nowMillis: 40_001)
        #expect(second == .open(untilMillis: 70_000))
        #expect(CircuitBreaker.record(claimed, success: true, policy: policy, nowMillis: 40_500) == CircuitState())
        let reopened = CircuitBreaker.record(claimed, success: false, policy: policy, nowMillis: 40_500)
        #expect(reopened.openUntilMillis == 70_500)
        #expect(CircuitBreaker.check(reopened, policy: policy, nowMillis: 50_000).0 == .open(untilMillis: 70_500))
    }

    @Test func aProbeThatNeverReportsExpires() {
        let (_, claimed) = CircuitBreaker.check(failing(3), policy: policy, nowMillis: 40_000)
        #expect(CircuitBreaker.check(claimed, policy: policy, nowMillis: 70_001).0 == .probe)
    }

    @Test func stateRoundTripsThroughItsStoredValues() {
        let state = failing(3)
        #expect(CircuitState(values: state.values) == state)
        #expect(CircuitState(values: [1, 2]) == nil)
    }
}

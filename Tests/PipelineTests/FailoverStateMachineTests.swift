import GatewayCore
import Testing

@testable import Pipeline

@Suite struct FailoverStateMachineTests {
    let start = ContinuousClock.now
    let policy = RetryPolicy(
        attemptsPerTarget: 2,
        maxAttempts: 6,
        backoff: .milliseconds(100),
        backoffMax: .seconds(1),
        retryAfterCap: .seconds(5),
        deadline: .seconds(30)
    )

    private func machine(_ candidates: Int, context: Int? = nil, policy: RetryPolicy? = nil) -> FailoverStateMachine {
        FailoverStateMachine(
            candidateCount: candidates, contextFallbackStart: context, policy: policy ?? self.policy, now: start)
    }

    @Test func transientFailuresRetryTheSameTargetWithJitteredBackoffThenMoveOn() {
        var failover = machine(2)
        #expect(failover.start() == .attempt(index: 0, delay: .zero))
        #expect(
            failover.attemptFailed(.transient, now: start, jitter: 0.5) == .attempt(index: 0, delay: .milliseconds(50)))
        #expect(failover.attemptFailed(.transient, now: start, jitter: 0.5) == .attempt(index: 1, delay: .zero))
        #expect(
            failover.attemptFailed(.transient, now: start, jitter: 1) == .attempt(index: 1, delay: .milliseconds(100)))
        #expect(failover.attemptFailed(.transient, now: start, jitter: 1) == .giveUp(lastFailure: .transient))
        #expect(failover.attemptCount == 4)
    }

    @Test(arguments: [0, 1, 2])
    func unavailableMovesOnAtOnceFromEveryPosition(position: Int) {
        var failover = machine(3)
        var action = failover.start()
        for _ in 0..<position { action = failover.attemptFailed(.unavailable, now: start, jitter: 0) }
        #expect(action == .attempt(index: position, delay: .zero))
        let next = failover.attemptFailed(.unavailable, now: start, jitter: 0)
        #expect(
            next == (position == 2 ? .giveUp(lastFailure: .unavailable) : .attempt(index: position + 1, delay: .zero)))
    }

    @Test(arguments: [0, 1])
    func fatalFailuresStopWherever(position: Int) {
        var failover = machine(2)
        _ = failover.start()
        if position == 1 { _ = failover.attemptFailed(.unavailable, now: start, jitter: 0) }
        #expect(failover.attemptFailed(.fatal, now: start, jitter: 0) == .giveUp(lastFailure: .fatal))
    }

    @Test func retryAfterIsHonouredUpToTheCap() {
        var failover = machine(2)
        _ = failover.start()
        #expect(
            failover.attemptFailed(.rateLimited(retryAfter: .seconds(2)), now: start, jitter: 0)
                == .attempt(index: 0, delay: .seconds(2))
        )
        var capped = machine(2)
        _ = capped.start()
        #expect(
            capped.attemptFailed(.rateLimited(retryAfter: .seconds(60)), now: start, jitter: 0)
                == .attempt(index: 1, delay: .zero)
        )
    }

    @Test func aRateLimitWithoutAHintTriesTheNextTargetOrBacksOffOnTheLast() {
        var failover = machine(2)
        _ = failover.start()
        #expect(
            failover.attemptFailed(.rateLimited(retryAfter: nil), now: start, jitter: 0)
                == .attempt(index: 1, delay: .zero))
        #expect(
            failover.attemptFailed(.rateLimited(retryAfter: nil), now: start, jitter: 1)
                == .attempt(index: 1, delay: .milliseconds(100))
        )
    }

    @Test func theDeadlineEndsTheWalk() {
        var failover = machine(3)
        _ = failover.start()
        #expect(
            failover.attemptFailed(.unavailable, now: start + .seconds(31), jitter: 0)
                == .giveUp(lastFailure: .unavailable))
        var waiting = machine(1)
        _ = waiting.start()
        // A retry-after that would end past the deadline is not waited for.
        #expect(
            waiting.attemptFailed(.rateLimited(retryAfter: .seconds(4)), now: start + .seconds(27), jitter: 0)
                == .giveUp(lastFailure: .rateLimited(retryAfter: .seconds(4)))
        )
    }

    @Test func theAttemptBudgetEndsTheWalk() {
        var failover = machine(10, policy: RetryPolicy(attemptsPerTarget: 1, maxAttempts: 3))
        _ = failover.start()
        _ = failover.attemptFailed(.unavailable, now: start, jitter: 0)
        _ = failover.attemptFailed(.unavailable, now: start, jitter: 0)
        #expect(failover.attemptFailed(.unavailable, now: start, jitter: 0) == .giveUp(lastFailure: .unavailable))
        #expect(failover.attemptCount == 3)
    }

    @Test func contextLengthJumpsToTheLargerContextFallbackOnly() {
        // Targets 0-1 belong to the model (and its fallbacks), 2-3 to the context fallback.
        var failover = machine(4, context: 2)
        _ = failover.start()
        #expect(failover.attemptFailed(.contextLength, now: start, jitter: 0) == .attempt(index: 2, delay: .zero))
        #expect(failover.attemptFailed(.unavailable, now: start, jitter: 0) == .attempt(index: 3, delay: .zero))
        #expect(failover.attemptFailed(.contextLength, now: start, jitter: 0) == .giveUp(lastFailure: .contextLength))
        var plain = machine(4, context: 2)
        _ = plain.start()
        _ = plain.attemptFailed(.unavailable, now: start, jitter: 0)
        // Ordinary failures never walk into the context fallback.
        #expect(plain.attemptFailed(.unavailable, now: start, jitter: 0) == .giveUp(lastFailure: .unavailable))
        var none = machine(2)
        _ = none.start()
        #expect(none.attemptFailed(.contextLength, now: start, jitter: 0) == .giveUp(lastFailure: .contextLength))
    }

    @Test func backoffDoublesAndIsCapped() {
        var failover = machine(
            1,
            policy: RetryPolicy(
                attemptsPerTarget: 6, maxAttempts: 10, backoff: .milliseconds(400), backoffMax: .seconds(1)))
        _ = failover.start()
        #expect(
            failover.attemptFailed(.transient, now: start, jitter: 1) == .attempt(index: 0, delay: .milliseconds(400)))
        #expect(
            failover.attemptFailed(.transient, now: start, jitter: 1) == .attempt(index: 0, delay: .milliseconds(800)))
        #expect(failover.attemptFailed(.transient, now: start, jitter: 1) == .attempt(index: 0, delay: .seconds(1)))
    }
}

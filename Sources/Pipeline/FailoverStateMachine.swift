import GatewayCore

/// What one failed attempt means for the request (docs/design.md §4).
public enum AttemptFailureClass: Sendable, Equatable {
    /// Overloaded or flaky (408, 409, 5xx, 529, reset): the same target may succeed after a backoff.
    case transient
    /// Rate limited, with the provider's hint when it gave one.
    case rateLimited(retryAfter: Duration?)
    /// The target cannot serve now (connect/DNS/TLS failure, timeout, key refused, quota,
    /// provider quota exhausted): go to the next target at once.
    case unavailable
    /// The prompt is too long for this model: only a larger-context fallback can help.
    case contextLength
    /// The request itself is wrong (other 4xx): no other target will do better.
    case fatal
}

/// Walks a request's candidates (the model's targets, then its fallback models' targets) and
/// decides, after each failed attempt, whether to retry the same target after a delay, move to
/// the next, or give up. A pure value: no clock reads, no I/O; `now` is passed in and jitter
/// comes from the caller's random source.
public struct FailoverStateMachine: Sendable {
    public enum Action: Sendable, Equatable {
        /// Try candidate `index` after `delay`.
        case attempt(index: Int, delay: Duration)
        /// Stop: every candidate failed, the deadline or attempt budget ran out, or the failure
        /// is the client's. `lastFailure` tells the caller how to answer.
        case giveUp(lastFailure: AttemptFailureClass)
    }

    /// How a request that gave up is answered.
    public enum Resolution: Sendable, Equatable {
        /// The last attempt was the provider's refusal of the request itself: relay it.
        case relayRefusal
        /// Every candidate was skipped for its provider quota: 429 with the soonest room.
        case quotaExhausted(retryAfterSeconds: Int)
        /// Every attempt failed (504 when every one timed out, else 502).
        case allFailed(timedOut: Bool)
    }

    /// A candidate passed over without sending anything.
    public enum Skip: Sendable, Equatable {
        /// At its provider quota; room again in this many seconds.
        case quota(retryAfterSeconds: Int)
        /// Unpriced, and a budget applies to the caller.
        case noPrice
        case circuitOpen
    }

    private enum State {
        case idle
        case attempting(index: Int, triesOfTarget: Int)
        case done
    }

    public let candidateCount: Int
    /// Index of the first candidate of the context-length fallback, when configured.
    public let contextFallbackStart: Int?
    public let policy: RetryPolicy
    private let startedAt: ContinuousClock.Instant
    private var state = State.idle
    private var attempts = 0
    private var everyFailureTimedOut = true
    private var onlyQuotaSkips = true
    private var soonestQuotaRoom: Int?
    private var lastWasRefusal = false
    /// Set when the machine gave up: how to answer.
    public private(set) var resolution: Resolution?

    public init(
        candidateCount: Int, contextFallbackStart: Int? = nil, policy: RetryPolicy, now: ContinuousClock.Instant
    ) {
        precondition(candidateCount > 0, "a request needs at least one candidate")
        self.candidateCount = candidateCount
        self.contextFallbackStart = contextFallbackStart
        self.policy = policy
        self.startedAt = now
    }

    public var attemptCount: Int { attempts }

    public mutating func start() -> Action {
        guard case .idle = state else { preconditionFailure("start() called twice") }
        attempts = 1
        state = .attempting(index: 0, triesOfTarget: 1)
        return .attempt(index: 0, delay: .zero)
    }

    /// The current attempt failed (`timedOut` when it was a timeout); `jitter` is a random number in 0...1.
    public mutating func attemptFailed(
        _ failure: AttemptFailureClass, timedOut: Bool = false, now: ContinuousClock.Instant, jitter: Double
    ) -> Action {
        everyFailureTimedOut = everyFailureTimedOut && timedOut
        onlyQuotaSkips = false
        lastWasRefusal = false
        return step(failure, now: now, jitter: jitter)
    }

    /// The provider refused the request itself (a client error, or a context-length error).
    public mutating func refused(contextLength: Bool, now: ContinuousClock.Instant, jitter: Double) -> Action {
        everyFailureTimedOut = false
        onlyQuotaSkips = false
        lastWasRefusal = true
        return step(contextLength ? .contextLength : .fatal, now: now, jitter: jitter)
    }

    /// The current candidate was passed over without a request: go to the next.
    public mutating func skipped(_ skip: Skip, now: ContinuousClock.Instant, jitter: Double) -> Action {
        if case .quota(let seconds) = skip {
            soonestQuotaRoom = min(soonestQuotaRoom ?? seconds, seconds)
        } else {
            onlyQuotaSkips = false
        }
        lastWasRefusal = false
        return step(.unavailable, now: now, jitter: jitter)
    }

    private mutating func step(_ failure: AttemptFailureClass, now: ContinuousClock.Instant, jitter: Double)
        -> Action
    {
        guard case .attempting(let index, let tries) = state else {
            preconditionFailure("attemptFailed without an attempt in flight")
        }
        let elapsed = now - startedAt
        var next: (index: Int, tries: Int, delay: Duration)?
        switch failure {
        case .fatal:
            next = nil
        case .contextLength:
            if let start = contextFallbackStart, index < start { next = (start, 1, .zero) }
        case .unavailable:
            next = nextTarget(after: index)
        case .transient:
            if tries < policy.attemptsPerTarget {
                next = (index, tries + 1, backoff(tries: tries, jitter: jitter))
            } else {
                next = nextTarget(after: index)
            }
        case .rateLimited(let retryAfter):
            if let retryAfter, retryAfter <= policy.retryAfterCap, tries < policy.attemptsPerTarget {
                next = (index, tries + 1, retryAfter)
            } else if retryAfter == nil, tries < policy.attemptsPerTarget, index + 1 >= candidateCount {
                next = (index, tries + 1, backoff(tries: tries, jitter: jitter))
            } else {
                next = nextTarget(after: index)
            }
        }
        guard let next, attempts < policy.maxAttempts, elapsed + next.delay < policy.deadline else {
            state = .done
            if lastWasRefusal {
                resolution = .relayRefusal
            } else if onlyQuotaSkips, let soonestQuotaRoom {
                resolution = .quotaExhausted(retryAfterSeconds: soonestQuotaRoom)
            } else {
                resolution = .allFailed(timedOut: everyFailureTimedOut)
            }
            return .giveUp(lastFailure: failure)
        }
        attempts += 1
        state = .attempting(index: next.index, triesOfTarget: next.tries)
        return .attempt(index: next.index, delay: next.delay)
    }

    /// The current attempt answered (or committed a stream): no more attempts.
    public mutating func attemptSucceeded() {
        guard case .attempting = state else { preconditionFailure("attemptSucceeded without an attempt in flight") }
        state = .done
    }

    private func nextTarget(after index: Int) -> (Int, Int, Duration)? {
        let limit = contextFallbackStart ?? candidateCount
        if index + 1 < limit { return (index + 1, 1, .zero) }
        // The context fallback's own targets continue among themselves.
        if let start = contextFallbackStart, index >= start, index + 1 < candidateCount { return (index + 1, 1, .zero) }
        return nil
    }

    /// Exponential backoff with full jitter: a random delay in [0, min(max, base·2^(tries-1))].
    private func backoff(tries: Int, jitter: Double) -> Duration {
        var ceiling = policy.backoff
        for _ in 1..<max(1, tries) where ceiling < policy.backoffMax { ceiling *= 2 }
        ceiling = min(ceiling, policy.backoffMax)
        return ceiling * min(1, max(0, jitter))
    }
}

/// How to retry and fail over (`retry:` in the configuration).
public struct RetryPolicy: Sendable, Equatable {
    /// Tries of one target before moving to the next (1 = no retry of the same target).
    public var attemptsPerTarget: Int
    /// Tries of the whole request, across targets and fallbacks.
    public var maxAttempts: Int
    /// First backoff between tries of the same target; doubles each time, with full jitter.
    public var backoff: Duration
    public var backoffMax: Duration
    /// A provider's `retry-after` longer than this moves on to the next target instead of waiting.
    public var retryAfterCap: Duration
    /// The whole request, all tries included.
    public var deadline: Duration

    public init(
        attemptsPerTarget: Int = 2,
        maxAttempts: Int = 6,
        backoff: Duration = .milliseconds(100),
        backoffMax: Duration = .seconds(2),
        retryAfterCap: Duration = .seconds(10),
        deadline: Duration = .seconds(300)
    ) {
        self.attemptsPerTarget = attemptsPerTarget
        self.maxAttempts = maxAttempts
        self.backoff = backoff
        self.backoffMax = backoffMax
        self.retryAfterCap = retryAfterCap
        self.deadline = deadline
    }
}

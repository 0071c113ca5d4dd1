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

extension RetryPolicy {
    /// The longest wait a provider's hint is taken for. Longer hints (`retry-after: 1e20`, `inf`,
    /// a Gemini `retryDelay: "1e300s"`) are read as this, which is past any `retry_after_cap`, so
    /// the request moves on instead of waiting.
    public static let maximumProviderDelay: Duration = .seconds(86_400)

    /// A provider's wait hint in seconds as a `Duration` within `0...maximumProviderDelay`: nil
    /// for a negative number, NaN or text that is not a number; +infinity and huge values cap.
    public static func providerDelay(seconds: Double) -> Duration? {
        guard !seconds.isNaN, seconds >= 0 else { return nil }
        let cap = Double(maximumProviderDelay.components.seconds)
        guard seconds < cap else { return maximumProviderDelay }
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }

    /// `retry-after-ms` (milliseconds) or `retry-after` (seconds) header text, bounded as above.
    public static func providerDelay(headerMilliseconds text: String) -> Duration? {
        Double(text.trimmingWhitespace()).flatMap { providerDelay(seconds: $0 / 1000) }
    }

    public static func providerDelay(headerSeconds text: String) -> Duration? {
        Double(text.trimmingWhitespace()).flatMap { providerDelay(seconds: $0) }
    }
}

/// The wall clock the gateway reads for limits, budgets, circuits and cache expiry; injected so
/// tests can step it (NTP corrections, a resumed VM) and prove the state survives the step.
public protocol WallClock: Sendable {
    func nowMillis() -> Int64
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    public init() {}
    public func nowMillis() -> Int64 { Int64(Timestamp.epochMillis()) }
}

/// What the faults decided for one request. Every field is independent; nil means "behave normally".
struct MockFaultActions: Sendable, Equatable {
    /// How a stream ends early, and after how many events.
    enum StreamStop: Sendable, Equatable {
        /// Stop sending, keep the connection open until the client leaves.
        case stall
        /// Close the connection (no terminator, no final chunk).
        case cut
        /// Close with SO_LINGER 0 (a TCP reset).
        case reset
        /// Send the dialect's in-band error event, then end the body without the terminator.
        case errorEvent
    }

    var status: Int?
    var retryAfterSeconds: Int?
    var delay: Duration?
    var chunkDelay: Duration?
    var resetOnReceipt = false
    var streamStop: (kind: StreamStop, afterEvents: Int)?

    static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.status == rhs.status && lhs.retryAfterSeconds == rhs.retryAfterSeconds && lhs.delay == rhs.delay
            && lhs.chunkDelay == rhs.chunkDelay && lhs.resetOnReceipt == rhs.resetOnReceipt
            && lhs.streamStop?.kind == rhs.streamStop?.kind
            && lhs.streamStop?.afterEvents == rhs.streamStop?.afterEvents
    }

    init() {}

    init(_ spec: MockFaultSpec, status: Int?) {
        self.status = status
        retryAfterSeconds = spec.retryAfterSeconds
        delay = spec.delay
        chunkDelay = spec.chunkDelay
        resetOnReceipt = spec.resetAfter == 0
        let stops: [(StreamStop, Int?)] = [
            (.reset, spec.resetAfter.flatMap { $0 > 0 ? $0 : nil }), (.cut, spec.cutAfter),
            (.stall, spec.stallAfter), (.errorEvent, spec.errorEventAfter),
        ]
        for case let (kind, after?) in stops where streamStop.map({ after < $0.afterEvents }) ?? true {
            streamStop = (kind, after)
        }
    }

    /// True when nothing would change (a `retry_after` alone changes nothing).
    var injectsNothing: Bool {
        status == nil && delay == nil && chunkDelay == nil && !resetOnReceipt && streamStop == nil
    }

    /// `other`'s faults win where both set one.
    func overridden(by other: Self) -> Self {
        var merged = self
        merged.status = other.status ?? status
        merged.retryAfterSeconds = other.retryAfterSeconds ?? retryAfterSeconds
        merged.delay = other.delay ?? delay
        merged.chunkDelay = other.chunkDelay ?? chunkDelay
        merged.resetOnReceipt = other.resetOnReceipt || resetOnReceipt
        merged.streamStop = other.streamStop ?? streamStop
        return merged
    }
}

/// A fault specification plus its running state: the `xN` budget and the generator behind `p`.
/// A plain value: the owner keeps it behind its lock and calls `next()` once per request.
struct MockFaultPlan: Sendable {
    let spec: MockFaultSpec
    private var statusRemaining: Int?
    private var random: SplitMix64

    init(_ spec: MockFaultSpec) {
        self.spec = spec
        statusRemaining = spec.statusTimes
        random = SplitMix64(seed: spec.seed)
    }

    /// The actions for the next request, or nil when no fault applies to it.
    mutating func next() -> MockFaultActions? {
        if spec.isEmpty { return nil }
        if spec.probability < 1, random.nextUnitInterval() >= spec.probability { return nil }
        var status = spec.status
        if status != nil, let remaining = statusRemaining {
            if remaining > 0 { statusRemaining = remaining - 1 } else { status = nil }
        }
        let actions = MockFaultActions(spec, status: status)
        return actions.injectsNothing ? nil : actions
    }
}

/// A small deterministic generator (SplitMix64), so `p=` with a `seed=` replays identically.
struct SplitMix64: Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    mutating func nextUnitInterval() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}

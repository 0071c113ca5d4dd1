/// When a target's circuit opens and for how long (`circuit:` in the configuration).
public struct CircuitPolicy: Sendable, Equatable {
    /// Failures inside `window` that open the circuit.
    public var failures: Int
    public var window: Duration
    /// How long an open circuit stays open before one probe is let through.
    public var cooldown: Duration

    public init(failures: Int = 5, window: Duration = .seconds(30), cooldown: Duration = .seconds(30)) {
        self.failures = failures
        self.window = window
        self.cooldown = cooldown
    }
}

/// The circuit of one target, as shared by every sidecar (five numbers, milliseconds).
public struct CircuitState: Sendable, Equatable {
    public var windowStartMillis: Int64 = 0
    public var failuresInWindow: Int64 = 0
    /// Open until then; 0 when closed.
    public var openUntilMillis: Int64 = 0
    /// A probe was let through and holds the half-open circuit until then; 0 when none.
    public var probeUntilMillis: Int64 = 0
    public var lastFailureMillis: Int64 = 0

    public init() {}

    public var values: [Int64] {
        [windowStartMillis, failuresInWindow, openUntilMillis, probeUntilMillis, lastFailureMillis]
    }

    /// The state as it can be after a wall-clock step (NTP, a VM resumed): nothing lies further
    /// ahead of `nowMillis` than the policy allows, so a clock stepped back never keeps a circuit
    /// open (or a probe claimed) for the size of the step.
    public func clamped(nowMillis: Int64, policy: CircuitPolicy) -> CircuitState {
        var state = self
        let cooldown = CircuitBreaker.millis(policy.cooldown)
        let horizon = nowMillis.addingSaturating(cooldown)
        if state.openUntilMillis > horizon { state.openUntilMillis = horizon }
        if state.probeUntilMillis > horizon { state.probeUntilMillis = horizon }
        if state.windowStartMillis > nowMillis { state.windowStartMillis = nowMillis }
        if state.lastFailureMillis > nowMillis { state.lastFailureMillis = nowMillis }
        return state
    }

    /// What `llmgw_circuit_state` and `llmgw status` show.
    public enum Phase: Int, Sendable {
        case closed = 0
        /// The cooldown is over: the next request (or the one holding the probe) tries the target.
        case halfOpen = 1
        case open = 2
    }

    /// The phase at `nowMillis`: open during the cooldown, half-open after it until a probe's
    /// outcome closes or reopens the circuit.
    public func phase(nowMillis: Int64, policy: CircuitPolicy) -> Phase {
        let state = clamped(nowMillis: nowMillis, policy: policy)
        if state.openUntilMillis == 0 { return .closed }
        return nowMillis < state.openUntilMillis ? .open : .halfOpen
    }

    public init?(values: [Int64]) {
        guard values.count == 5 else { return nil }
        windowStartMillis = values[0]
        failuresInWindow = values[1]
        openUntilMillis = values[2]
        probeUntilMillis = values[3]
        lastFailureMillis = values[4]
    }
}

/// The circuit breaker's transitions, as a pure function of the shared state (no clock, no I/O):
/// closed → open after `failures` failures within `window`; open → half-open after `cooldown`,
/// when exactly ONE caller (in any sidecar) gets the probe; the probe's success closes the
/// circuit, its failure opens it for another cooldown.
public enum CircuitBreaker {
    public enum Decision: Sendable, Equatable {
        /// Closed: send.
        case closed
        /// Half-open and this caller holds the probe: send, and report the outcome.
        case probe
        /// Open (or another caller is probing): skip the target; it may be tried again then.
        case open(untilMillis: Int64)
    }

    /// Decides whether a request may go to the target now; returns the state to store.
    public static func check(_ state: CircuitState, policy: CircuitPolicy, nowMillis: Int64) -> (Decision, CircuitState)
    {
        let state = state.clamped(nowMillis: nowMillis, policy: policy)
        guard state.openUntilMillis != 0 else { return (.closed, state) }
        if nowMillis < state.openUntilMillis { return (.open(untilMillis: state.openUntilMillis), state) }
        // Cooldown over: one probe at a time; a probe that never reported expires after a cooldown.
        if state.probeUntilMillis > nowMillis { return (.open(untilMillis: state.probeUntilMillis), state) }
        var next = state
        next.probeUntilMillis = nowMillis.addingSaturating(millis(policy.cooldown))
        return (.probe, next)
    }

    /// The state after an attempt's outcome.
    public static func record(_ state: CircuitState, success: Bool, policy: CircuitPolicy, nowMillis: Int64)
        -> CircuitState
    {
        if success {
            return CircuitState()
        }
        let state = state.clamped(nowMillis: nowMillis, policy: policy)
        var next = state
        next.lastFailureMillis = nowMillis
        if state.openUntilMillis != 0 {
            // A failed probe (or a late failure while open): open for another cooldown.
            next.openUntilMillis = nowMillis.addingSaturating(millis(policy.cooldown))
            next.probeUntilMillis = 0
            return next
        }
        if nowMillis.addingSaturating(-state.windowStartMillis) > millis(policy.window) {
            next.windowStartMillis = nowMillis
            next.failuresInWindow = 0
        }
        next.failuresInWindow += 1
        if next.failuresInWindow >= Int64(policy.failures) {
            next.openUntilMillis = nowMillis.addingSaturating(millis(policy.cooldown))
            next.probeUntilMillis = 0
        }
        return next
    }

    static func millis(_ duration: Duration) -> Int64 {
        max(0, duration.saturatingMillis)
    }
}

/// Where circuits live: LMDB (shared by the host's sidecars) or memory.
public protocol CircuitStore: Sendable {
    /// Checks (and, for a probe, claims) the circuit of `target` in one transaction.
    func check(_ target: String, policy: CircuitPolicy, nowMillis: Int64) async throws -> CircuitBreaker.Decision
    func record(_ target: String, success: Bool, policy: CircuitPolicy, nowMillis: Int64) async throws
    /// The stored state, without changing it.
    func state(of target: String) async throws -> CircuitState
    /// The stored states of `targets`, in order, read together (one transaction where the store has them).
    func states(of targets: [String]) async throws -> [CircuitState]
}

extension CircuitStore {
    public func states(of targets: [String]) async throws -> [CircuitState] {
        var states: [CircuitState] = []
        for target in targets { states.append(try await state(of: target)) }
        return states
    }
}

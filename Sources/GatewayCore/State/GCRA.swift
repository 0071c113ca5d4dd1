/// The Generic Cell Rate Algorithm for one limit ("N per minute"), as a pure value: no clock, no
/// storage. The whole state is one number, the theoretical arrival time (TAT), so a store can
/// keep it in eight bytes and check-and-charge it inside a single write transaction.
///
/// A limit of `N` per `period` admits a burst of up to `N` at once and then one every
/// `period / N`; it never admits more than `N` within any window of `period` that starts with an
/// empty bucket. Costs may be larger than one (tokens), and a charge may be corrected later
/// (`adjust`) when the real cost is known.
public struct GCRA: Sendable, Equatable {
    /// Allowed cost per period.
    public let limit: Int
    /// The window, in microseconds (60 s for per-minute limits).
    public let periodMicros: Int64

    /// A limit below 1 (only a damaged record could hold one: the CLI and the configuration
    /// refuse it) counts as 1 rather than trapping.
    public init(limit: Int, periodMicros: Int64 = 60_000_000) {
        self.limit = max(1, limit)
        self.periodMicros = max(1, periodMicros)
    }

    /// Microseconds of "budget" one unit of cost consumes.
    var emissionInterval: Double { Double(periodMicros) / Double(limit) }

    public enum Decision: Sendable, Equatable {
        /// Admitted; store `newTAT`.
        case admitted(newTAT: Int64, remaining: Int)
        /// Refused; the same cost fits after `retryAfterMicros`.
        case limited(retryAfterMicros: Int64)
    }

    /// Decides whether `cost` may be charged at `now` given the stored `tat` (0 when none).
    /// A cost larger than the whole limit can never fit and is refused with the full period.
    ///
    /// A stored TAT more than one period ahead of `now` (a wall clock stepped back, or a charge
    /// corrected upwards) counts as exactly one period ahead: a full bucket, never a refusal for
    /// the size of the step.
    public func check(tat: Int64, cost: Int, now: Int64) -> Decision {
        guard cost <= limit else { return .limited(retryAfterMicros: periodMicros) }
        let cost = max(0, cost)
        let base = max(min(tat, now.addingSaturating(periodMicros)), now)
        let newTAT = base.addingSaturating(Int64(saturating: (Double(cost) * emissionInterval).rounded(.up)))
        let allowedAt = newTAT.addingSaturating(-periodMicros)
        if allowedAt > now {
            return .limited(retryAfterMicros: allowedAt - now)
        }
        let used = Double(newTAT.addingSaturating(-now)) / emissionInterval
        return .admitted(newTAT: newTAT, remaining: max(0, limit - Int(saturating: used.rounded(.up))))
    }

    /// Corrects an earlier charge by `delta` units (negative refunds), never moving the TAT
    /// before `now` (unused capacity in the past is not banked).
    /// The result never lies more than one period ahead of `now` (a debt larger than a whole
    /// period is not carried further), and every step saturates instead of trapping.
    public func adjust(tat: Int64, delta: Int, now: Int64) -> Int64 {
        let horizon = now.addingSaturating(periodMicros)
        let moved = min(tat, horizon).addingSaturating(Int64(saturating: (Double(delta) * emissionInterval).rounded()))
        return delta < 0 ? max(moved, now) : min(moved, horizon)
    }
}

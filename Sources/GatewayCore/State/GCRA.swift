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

    public init(limit: Int, periodMicros: Int64 = 60_000_000) {
        precondition(limit > 0, "a GCRA limit must be positive")
        self.limit = limit
        self.periodMicros = periodMicros
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
    public func check(tat: Int64, cost: Int, now: Int64) -> Decision {
        guard cost <= limit else { return .limited(retryAfterMicros: periodMicros) }
        let base = max(tat, now)
        let newTAT = base + Int64((Double(cost) * emissionInterval).rounded(.up))
        let allowedAt = newTAT - periodMicros
        if allowedAt > now {
            return .limited(retryAfterMicros: allowedAt - now)
        }
        let used = Double(newTAT - now) / emissionInterval
        return .admitted(newTAT: newTAT, remaining: max(0, limit - Int(used.rounded(.up))))
    }

    /// Corrects an earlier charge by `delta` units (negative refunds), never moving the TAT
    /// before `now` (unused capacity in the past is not banked).
    public func adjust(tat: Int64, delta: Int, now: Int64) -> Int64 {
        let moved = tat + Int64((Double(delta) * emissionInterval).rounded())
        return delta < 0 ? max(moved, now) : moved
    }
}

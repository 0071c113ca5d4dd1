/// Conversions and sums that never trap, for numbers that come from clients, providers, the
/// configuration or the shared state (which another version or a damaged file may have written).
extension Int64 {
    /// `value` rounded toward zero and clamped to the Int64 range; NaN is 0.
    public init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9.223_372_036_854_775e18 {
            self = .max
        } else if value <= -9.223_372_036_854_775e18 {
            self = .min
        } else {
            self = Int64(value)
        }
    }

    /// `self + other`, clamped to the Int64 range.
    public func addingSaturating(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self * other`, clamped to the Int64 range.
    public func multipliedSaturating(by other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }
}

extension Int {
    /// `value` rounded toward zero and clamped to the Int range; NaN is 0.
    public init(saturating value: Double) {
        self = Int(Int64(saturating: value))
    }

    /// `self + other`, clamped to the Int range.
    public func addingSaturating(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }
}

extension Duration {
    /// Whole milliseconds, clamped to the Int64 range.
    public var saturatingMillis: Int64 {
        let (seconds, attoseconds) = components
        return seconds.multipliedSaturating(by: 1000).addingSaturating(attoseconds / 1_000_000_000_000_000)
    }
}

/// The random numbers the pipeline draws (backoff jitter, weighted balancing, request ids);
/// injected so tests can fix them.
public protocol RandomSource: Sendable {
    func next() -> UInt64
}

extension RandomSource {
    /// A uniform number in `0..<1`.
    func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }
}

/// The system's cryptographically secure generator.
public struct SystemRandomSource: RandomSource {
    public init() {}

    public func next() -> UInt64 {
        var generator = SystemRandomNumberGenerator()
        return generator.next()
    }
}

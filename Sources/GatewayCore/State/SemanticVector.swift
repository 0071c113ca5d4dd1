/// An embedding as the semantic cache keeps it: L2-normalized, then quantized to one signed byte
/// per dimension with one scale for the vector (`component ≈ Float(values[i]) * scale`).
/// 384 dimensions take 384 bytes plus the scale, a quarter of `Float32`; the cosine similarity of
/// two quantized vectors differs from the exact one by well under 0.01.
public struct SemanticVector: Sendable, Equatable {
    public let values: [Int8]
    public let scale: Float

    public init(values: [Int8], scale: Float) {
        self.values = values
        self.scale = scale
    }

    /// Nil for an empty vector, a zero vector or one with a non-finite component.
    public init?(embedding: [Float]) {
        guard !embedding.isEmpty, embedding.allSatisfy(\.isFinite) else { return nil }
        let norm = embedding.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0, norm.isFinite else { return nil }
        let largest = embedding.reduce(Float(0)) { max($0, abs($1)) } / norm
        let scale = largest / 127
        values = embedding.map { Int8(clamping: Int(($0 / norm / scale).rounded())) }
        self.scale = scale
    }

    public var dimensions: Int { values.count }

    /// The cosine similarity with `other` (both are unit vectors up to quantization, so this is
    /// their dot product); nil when the dimensions differ.
    public func similarity(to other: SemanticVector) -> Float? {
        guard values.count == other.values.count else { return nil }
        return values.withUnsafeBufferPointer { mine in
            other.values.withUnsafeBufferPointer { theirs in
                Self.dot(mine, theirs)
            }
        }.map { Float($0) * scale * other.scale }
    }

    /// The integer dot product of two equally long int8 buffers (exact: at most 4096 × 127² fits
    /// in 32 bits many times over).
    @inline(__always)
    public static func dot(_ lhs: UnsafeBufferPointer<Int8>, _ rhs: UnsafeBufferPointer<Int8>) -> Int32? {
        guard lhs.count == rhs.count else { return nil }
        var sum: Int32 = 0
        for index in 0..<lhs.count { sum &+= Int32(lhs[index]) &* Int32(rhs[index]) }
        return sum
    }
}

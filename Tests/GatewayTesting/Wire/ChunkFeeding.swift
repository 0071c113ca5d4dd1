extension Array where Element == UInt8 {
    /// The bytes in pieces of `size` (the last may be shorter); none for no bytes.
    public func chunked(by size: Int) -> [[UInt8]] {
        precondition(size > 0, "a chunk size is at least one byte")
        return stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

/// Feeds `bytes` to `push` in `chunkSize`-byte pieces, as a socket would deliver them, and joins
/// what each push returns: `feed(transcript, inChunksOf: 7) { decoder.push($0) }`. A stream decoder,
/// framer or translator must give the same output whatever the chunking; call its `finish()`
/// after.
public func feed<Output: RangeReplaceableCollection>(
    _ bytes: [UInt8], inChunksOf chunkSize: Int, to push: ([UInt8]) throws -> Output
) rethrows -> Output {
    var output = Output()
    for chunk in bytes.chunked(by: chunkSize) { output += try push(chunk) }
    return output
}

/// A FIFO of received body chunks that keeps a running byte count.
struct CurlChunkQueue {
    private var storage: [[UInt8]] = []
    private var head = 0
    private(set) var byteCount = 0

    var isEmpty: Bool { head == storage.count }

    mutating func append(_ chunk: [UInt8]) {
        storage.append(chunk)
        byteCount += chunk.count
    }

    mutating func popFirst() -> [UInt8]? {
        guard head < storage.count else { return nil }
        let chunk = storage[head]
        storage[head] = []
        head += 1
        byteCount -= chunk.count
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 64 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return chunk
    }

    mutating func removeAll() {
        storage.removeAll()
        head = 0
        byteCount = 0
    }
}

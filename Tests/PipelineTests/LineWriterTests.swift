import Foundation
import Testing

@testable import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct LineWriterTests {
    private func lines(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func writesWholeLinesInOrder() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let writer = LineWriter(descriptor: ends[1], capacityBytes: 1 << 20)
        for index in 0..<1000 { writer.write(line: Array("line \(index)".utf8)) }
        #expect(writer.flush())
        writer.shutdown()
        close(ends[1])
        let written = lines(PipeReader(ends[0]).wait())
        close(ends[0])
        #expect(written == (0..<1000).map { "line \($0)" })
        #expect(writer.droppedLines == 0)
    }

    /// Nobody reads the pipe: writing never blocks; what does not fit is dropped, counted, and
    /// reported in the log as soon as the reader comes back.
    @Test func aStalledReaderNeverBlocksAndDropsAreReported() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        // Fill the pipe first, so that the writer's first write blocks.
        let flags = fcntl(ends[1], F_GETFL)
        _ = fcntl(ends[1], F_SETFL, flags | O_NONBLOCK)
        var filler = Array("f\n".utf8)
        while write(ends[1], &filler, 2) == 2 {}
        _ = fcntl(ends[1], F_SETFL, flags)
        let writer = LineWriter(descriptor: ends[1], capacityBytes: 4096)
        let line = Array(String(repeating: "x", count: 200).utf8)
        for _ in 0..<5000 { writer.write(line: line) }  // 1 MB: far more than the pipe and the queue hold
        #expect(writer.droppedLines > 0)
        #expect(!writer.flush(timeout: .milliseconds(100)), "the reader is stalled: nothing can drain")
        let reading = PipeReader(ends[0])  // a thread of its own: flush below blocks this one
        #expect(writer.flush(timeout: .seconds(10)))
        writer.shutdown()
        close(ends[1])
        let written = lines(reading.wait())
        close(ends[0])
        let delivered = written.filter { $0.hasPrefix("xxx") }.count
        let reports = written.filter { $0.contains("\"msg\":\"log lines dropped\"") }
        let reported = try reports.map { report -> Int in
            let object = try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any]
            return object?["dropped"] as? Int ?? -1
        }
        #expect(!reports.isEmpty)
        #expect(delivered + reported.reduce(0, +) == 5000, "every line is either written or counted")
        #expect(reported.reduce(0, +) == writer.droppedLines)
    }
}

/// Reads a descriptor to its end on a thread started at once (never on the cooperative pool, which
/// the blocking `flush` calls of these tests may occupy).
final class PipeReader: @unchecked Sendable {
    // Invariant for @unchecked Sendable: `bytes` is written by the reader thread before `done` is
    // signalled and read only after `wait` has seen the signal.
    private var bytes: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)

    init(_ descriptor: Int32) {
        Thread.detachNewThread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress!, $0.count) }
                if count <= 0 { break }
                bytes += buffer[..<count]
            }
            done.signal()
        }
    }

    func wait() -> [UInt8] {
        done.wait()
        return bytes
    }
}

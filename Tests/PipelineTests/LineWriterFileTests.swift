import Foundation
import Testing

@testable import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

/// `LineWriter.open(file:)` and `reopen()`: the log file as logrotate handles it.
@Suite struct LineWriterFileTests {
    private func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-linewriter-\(UUID().uuidString.prefix(8))"
        ).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func linesWrittenWhileTheFileIsRotatedLandWholeInOneFileOrTheOther() throws {
        let directory = try directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/llmgw.log"
        let writer = LineWriter(descriptor: -1, capacityBytes: 64 << 20)
        defer { writer.shutdown() }
        try writer.open(file: path, mode: 0o640)
        #expect(writer.filePath == path)
        let payload = String(repeating: "x", count: 300)
        let producer = Thread {
            for index in 0..<20_000 { writer.write(line: Array("\(index) \(payload)".utf8)) }
        }
        producer.start()
        for rotation in 1...5 {
            usleep(2_000)
            #expect(rename(path, path + ".\(rotation)") == 0)
            #expect(try writer.reopen())
        }
        while !producer.isFinished { usleep(1_000) }
        #expect(writer.flush(timeout: .seconds(10)))
        var all: [String] = []
        for file in (1...5).map({ path + ".\($0)" }) + [path] { all += lines(file) }
        #expect(all.count == 20_000)
        #expect(all.allSatisfy { $0.hasSuffix(" " + payload) }, "a torn line")
        #expect(Set(all.map { $0.prefix { $0 != " " } }).count == 20_000)
        #expect(writer.droppedLines == 0)
    }

    @Test func anUnopenablePathIsAnErrorAndTheOldFileStays() throws {
        let directory = try directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = LineWriter(descriptor: -1)
        defer { writer.shutdown() }
        #expect(throws: LogFileError.self) { try writer.open(file: directory + "/missing/llmgw.log") }
        #expect(writer.filePath == nil)
        #expect(try writer.reopen() == false, "nothing to reopen without a file")

        let path = directory + "/llmgw.log"
        try writer.open(file: path)
        writer.write(line: Array("one".utf8))
        #expect(writer.flush())
        // The directory becomes unwritable to a new file: the reopen fails, the lines go on.
        #expect(rename(path, path + ".1") == 0)
        #expect(mkdir(path, 0o700) == 0)
        #expect(throws: LogFileError.self) { try writer.reopen() }
        writer.write(line: Array("two".utf8))
        #expect(writer.flush())
        #expect(lines(path + ".1") == ["one", "two"])
    }

    @Test func aNewFileGetsTheModeAndAnExistingOneIsAppendedTo() throws {
        let directory = try directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/llmgw.log"
        try "earlier\n".write(toFile: path, atomically: false, encoding: .utf8)
        let writer = LineWriter(descriptor: -1)
        defer { writer.shutdown() }
        try writer.open(file: path)
        writer.write(line: Array("later".utf8))
        #expect(writer.flush())
        #expect(lines(path) == ["earlier", "later"])

        let fresh = directory + "/fresh.log"
        try writer.open(file: fresh, mode: 0o640)
        writer.write(line: Array("x".utf8))
        #expect(writer.flush())
        var info = stat()
        #expect(stat(fresh, &info) == 0)
        // 0640 less the umask: never more than 0640, the owner always reads and writes.
        #expect(info.st_mode & 0o137 == 0 && info.st_mode & 0o600 == 0o600)
    }
}

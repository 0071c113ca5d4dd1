import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `llmgw tail` as a process: reading a file that is there, stdin, and following a file across
/// appends and a rotation.
@Suite(.timeLimit(.minutes(1))) struct TailEndToEndTests {
    static func access(_ id: String, status: Int = 200, outcome: String = "ok", model: String = "smart") -> String {
        #"{"ts":"2026-11-21T16:00:00.123Z","level":"info","msg":"request","request_id":"\#(id)","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","caller":"key:abc123","route":"/v1/chat/completions","model":"\#(model)","provider":"openai","upstream_model":"gpt-4o","status":\#(status),"outcome":"\#(outcome)","stream":false,"cache":"miss","attempts":[],"latency_ms":815.2,"ttfb_ms":240.1,"overhead_us":45,"prompt_tokens":57,"completion_tokens":17,"cost_usd":0.000312}"#
    }

    static let starting = #"{"ts":"2026-11-21T15:59:59.000Z","level":"info","msg":"starting","logger":"llmgw"}"#

    private func directory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-tail-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Runs `llmgw tail ARGUMENTS` to its end, with `input` on stdin; its stdout.
    private func tail(_ arguments: [String], input: String = "") async throws -> (status: Int32, output: String) {
        let process = ChildProcess()
        process.executableURL = try GatewayBinary.url("llmgw")
        process.arguments = ["tail"] + arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = try await blocking { stdout.fileHandleForReading.readDataToEndOfFile() }
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    @Test func printsAFileThatIsThereOneLineARequest() async throws {
        let directory = try directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("llmgw.log").path
        let lines = [
            Self.starting, Self.access("a"), "garbage that is not JSON",
            Self.access("b", status: 502, outcome: "upstream_error"),
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)

        let all = try await tail(["--no-color", "--no-follow", "-n", "all", path])
        #expect(all.status == 0)
        #expect(
            all.output.split(separator: "\n") == [
                "15:59:59.000 INFO    llmgw: starting",
                "16:00:00.123 200 ok              /v1/chat/completions smart → openai/gpt-4o 815.2ms 57→17 tok "
                    + "$0.000312 cache=miss key:abc123 trace=4bf92f3577b34da6a3ce929d0e0e4736",
                "garbage that is not JSON",
                "16:00:00.123 502 upstream_error  /v1/chat/completions smart → openai/gpt-4o 815.2ms 57→17 tok "
                    + "$0.000312 cache=miss key:abc123 trace=4bf92f3577b34da6a3ce929d0e0e4736",
            ])
        #expect(!all.output.contains("\u{1B}"))

        let lastTwo = try await tail(["--no-color", "--no-follow", "-n", "2", path])
        #expect(lastTwo.output.split(separator: "\n").count == 2)
        #expect(lastTwo.output.hasPrefix("garbage"))
        let errors = try await tail(["--no-color", "--no-follow", "-n", "all", "--errors", path])
        #expect(
            errors.output.split(separator: "\n").map { $0.contains("502") || $0.hasPrefix("garbage") } == [true, true])
        let missing = try await tail(["--no-follow", directory.appendingPathComponent("nope").path])
        #expect(missing.status == 1)
    }

    @Test func readsStdinWithFilters() async throws {
        let input = [Self.starting, Self.access("a", model: "fast"), Self.access("b")].joined(separator: "\n") + "\n"
        let result = try await tail(["--no-color", "--model", "fast"], input: input)
        #expect(result.status == 0)
        #expect(result.output.split(separator: "\n").count == 1)
        #expect(result.output.contains(" fast → openai/gpt-4o "))
        let viaDash = try await tail(["--no-color", "--access-only", "-"], input: input)
        #expect(viaDash.output.split(separator: "\n").count == 2)
    }

    @Test func followsAppendsAndARotation() async throws {
        let directory = try directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("llmgw.log").path
        try (Self.access("old") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let outputPath = directory.appendingPathComponent("tail.out").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let process = ChildProcess()
        process.executableURL = try GatewayBinary.url("llmgw")
        process.arguments = ["tail", "--no-color", "-n", "0", path]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        try process.run()
        try await withCleanup {
            func output() -> String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
            func waitFor(_ count: Int) async {
                for _ in 0..<250 where output().split(separator: "\n").count < count {
                    try? await Task.sleep(for: .milliseconds(20))
                }
            }
            func append(_ line: String, to file: String) throws {
                let handle = try #require(FileHandle(forWritingAtPath: file))
                handle.seekToEndOfFile()
                handle.write(Data((line + "\n").utf8))
                try handle.close()
            }
            try await Task.sleep(for: .milliseconds(300))
            try append(Self.access("first"), to: path)
            await waitFor(1)
            // Rotation: moved away, a new file created; the writer still appends to the old one once.
            #expect(rename(path, path + ".1") == 0)
            _ = FileManager.default.createFile(atPath: path, contents: nil)
            try append(Self.access("late-in-old", model: "late"), to: path + ".1")
            try append(Self.access("in-new", model: "new"), to: path)
            await waitFor(3)
            let lines = output().split(separator: "\n")
            #expect(lines.count == 3, "\(output())")
            #expect(lines.last?.contains(" new → ") == true, "the new file after the old one's last lines")
            #expect(lines.dropLast().last?.contains(" late → ") == true)
            // logrotate's postrotate signals every process named llmgw: tail keeps going.
            kill(process.processIdentifier, SIGUSR1)
            try await Task.sleep(for: .milliseconds(200))
            #expect(process.isRunning)
        } cleanup: {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }
}

import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `llmgw-mock` executable: the ready line, serving, and a clean exit on SIGTERM.
@Suite(.timeLimit(.minutes(1))) struct MockCommandTests {
    static func executable() throws -> URL {
        try GatewayBinary.url("llmgw-mock")
    }

    /// The first line the process writes to `output` (its ready line), read off the cooperative pool.
    static func firstLine(of output: Pipe) async throws -> String {
        try await blocking { () -> String in
            var bytes: [UInt8] = []
            while let byte = try output.fileHandleForReading.read(upToCount: 1)?.first, byte != 10 {
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    @Test func printsTheReadyLineServesAndExitsCleanlyOnSIGTERM() async throws {
        let socketPath = FileManager.default.temporaryDirectory.path + "/mockcli-\(UUID().uuidString.prefix(8)).sock"
        let process = ChildProcess()
        process.executableURL = try Self.executable()
        process.arguments = ["--socket", socketPath, "--api-key", "sk-cli", "--faults", "delay=1ms"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // Killed on every path; the test itself ends it with SIGTERM and checks how it exits.
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let line = try await Self.firstLine(of: output)
        let ready = try parse(line)
        #expect(ready["msg"] as? String == "mock listening")
        #expect(ready["socket"] as? String == socketPath)

        let reply = try await blocking { () -> Int in
            let process = ChildProcess()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments = [
                "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", socketPath,
                "-H", "authorization: Bearer sk-cli", "http://localhost/v1/models",
            ]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            process.waitUntilExit()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            return Int(String(decoding: data, as: UTF8.self)) ?? 0
        }
        #expect(reply == 200)

        kill(process.processIdentifier, SIGTERM)
        for _ in 0..<250 where process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: socketPath))
    }

    @Test func rejectsABadFaultSpec() async throws {
        let process = ChildProcess()
        process.executableURL = try Self.executable()
        process.arguments = ["--port", "0", "--faults", "status=abc"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        let text = try await blocking {
            String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        }
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(text.contains("status=abc"))
    }
}

import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The `llmgw-mock` executable: the ready line, serving, and a clean exit on SIGTERM.
@Suite(.timeLimit(.minutes(1))) struct MockCommandTests {
    static func executable() throws -> URL {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["LLMGW_BIN_DIR"] {
            candidates.append(explicit + "/llmgw-mock")
        }
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        candidates.append(testBinary.appendingPathComponent("llmgw-mock").path)
        candidates.append(testBinary.deletingLastPathComponent().appendingPathComponent("llmgw-mock").path)
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
        return URL(fileURLWithPath: try #require(found, "llmgw-mock not built; looked in \(candidates)"))
    }

    @Test func printsTheReadyLineServesAndExitsCleanlyOnSIGTERM() async throws {
        let socketPath = FileManager.default.temporaryDirectory.path + "/mockcli-\(UUID().uuidString.prefix(8)).sock"
        let process = Process()
        process.executableURL = try Self.executable()
        process.arguments = ["--socket", socketPath, "--api-key", "sk-cli", "--faults", "delay=1ms"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let line = try await blocking { () -> String in
            var bytes: [UInt8] = []
            while let byte = try output.fileHandleForReading.read(upToCount: 1)?.first, byte != 10 {
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let ready = try parse(line)
        #expect(ready["msg"] as? String == "mock listening")
        #expect(ready["socket"] as? String == socketPath)

        let reply = try await blocking { () -> Int in
            let process = Process()
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
        let process = Process()
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

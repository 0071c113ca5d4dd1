import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `llmgw-mock --dialect anthropic|gemini|azure`: the ready line names the dialect and its base URL.
@Suite(.timeLimit(.minutes(1))) struct MockCommandDialectTests {
    @Test(arguments: ["anthropic", "gemini", "azure"])
    func servesEachDialect(dialect: String) async throws {
        let socketPath = FileManager.default.temporaryDirectory.path + "/mockcli-\(UUID().uuidString.prefix(8)).sock"
        let process = Process()
        process.executableURL = try MockCommandTests.executable()
        process.arguments = ["--socket", socketPath, "--dialect", dialect, "--gemini-lf"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        let line = try await blocking { () -> String in
            var bytes: [UInt8] = []
            while let byte = try output.fileHandleForReading.read(upToCount: 1)?.first, byte != 10 {
                bytes.append(byte)
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let ready = try parse(line)
        #expect(ready["dialect"] as? String == dialect)
        #expect(ready["base_url"] as? String == "http://localhost")
    }
}

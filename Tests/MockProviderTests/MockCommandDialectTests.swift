import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `llmgw-mock --dialect anthropic|gemini|azure|vertex`: the ready line names the dialect and its base URL.
@Suite(.timeLimit(.minutes(1))) struct MockCommandDialectTests {
    @Test(arguments: ["anthropic", "gemini", "azure", "vertex"])
    func servesEachDialect(dialect: String) async throws {
        let socketPath = FileManager.default.temporaryDirectory.path + "/mockcli-\(UUID().uuidString.prefix(8)).sock"
        let process = ChildProcess()
        process.executableURL = try MockCommandTests.executable()
        process.arguments = ["--socket", socketPath, "--dialect", dialect, "--gemini-lf"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        defer {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        let line = try await MockCommandTests.firstLine(of: output)
        let ready = try parse(line)
        #expect(ready["dialect"] as? String == dialect)
        #expect(ready["base_url"] as? String == "http://localhost")
    }
}

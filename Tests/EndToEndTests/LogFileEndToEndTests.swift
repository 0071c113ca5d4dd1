import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `log.file` with reopen on SIGUSR1 (logrotate), and the W3C trace context a request carries to
/// the provider and into its access line.
@Suite(.timeLimit(.minutes(2))) struct LogFileEndToEndTests {
    @Test func logLinesGoToTheFileAndARotationLosesNone() async throws {
        var options = GatewayHarness.Options()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-logfile-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let logPath = directory.appendingPathComponent("llmgw.log").path
        options.log = ["file: \(logPath)"]
        try await withGateway(options) { gateway in
            for index in 0..<3 {
                let response = try await gateway.client.post(
                    "/v1/chat/completions", json: .chatRequest(model: "smart"),
                    headers: [("x-request-id", "before-\(index)")])
                #expect(response.status == 200)
            }
            try await Self.waitForLines(in: logPath) { $0.filter { $0["msg"] as? String == "request" }.count == 3 }
            var info = stat()
            #expect(stat(logPath, &info) == 0 && info.st_mode & 0o777 == 0o640)
            // logrotate: move the file away, then signal; requests keep coming meanwhile.
            let rotated = logPath + ".1"
            #expect(rename(logPath, rotated) == 0)
            async let during = gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "smart"), headers: [("x-request-id", "during")])
            gateway.signal(SIGUSR1)
            #expect(try await during.status == 200)
            try await Self.waitForLines(in: logPath) { $0.contains { $0["msg"] as? String == "log file reopened" } }
            let after = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "smart"), headers: [("x-request-id", "after")])
            #expect(after.status == 200)
            try await Self.waitForLines(in: logPath) { $0.contains { $0["request_id"] as? String == "after" } }
            #expect(gateway.process.isRunning)

            let old = try Self.lines(rotated)
            let new = try Self.lines(logPath)
            let ids = (old + new).compactMap { $0["request_id"] as? String }
            #expect(ids.sorted() == ["after", "before-0", "before-1", "before-2", "during"])
            #expect(old.contains { $0["msg"] as? String == "starting" })
            #expect(new.contains { $0["request_id"] as? String == "after" })
            // Every line of both files is whole JSON.
            for file in [rotated, logPath] {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                #expect(text.hasSuffix("\n"))
                for line in text.split(separator: "\n") {
                    #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil, "torn line: \(line)")
                }
                #expect(!text.contains(GatewayBinary.providerKey))
            }
            #expect(!gateway.stdout().contains(#""msg":"request""#), "access lines go to the file, not stdout")
        }
    }

    @Test func anUnwritableLogFileStopsTheStart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-logfile-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = """
            listen: { socket: \(directory.path)/gw.sock }
            state: { path: \(directory.path)/state }
            log: { file: \(directory.path)/missing-directory/llmgw.log }
            providers:
              mock: { kind: openai, base_url: "http://127.0.0.1:1/v1" }
            models:
              - { name: smart, targets: [{ provider: mock, model: gpt-4o }] }
            """
        let configPath = directory.appendingPathComponent("llmgw.yaml").path
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        let started = try startGateway(configPath: configPath)
        for _ in 0..<500 where started.process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        if started.process.isRunning { kill(started.process.processIdentifier, SIGKILL) }
        started.process.waitUntilExit()
        #expect(started.process.terminationStatus == 1)
        #expect(started.output().contains("cannot open the log file"), "\(started.output())")
        #expect(started.output().contains("missing-directory/llmgw.log"))
    }

    @Test func theClientsTraceparentReachesTheProviderAndTheAccessLine() async throws {
        try await withGateway { gateway in
            let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
            let response = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "smart"),
                headers: [
                    ("x-request-id", "traced"), ("traceparent", "00-\(traceID)-00f067aa0ba902b7-01"),
                    ("tracestate", "congo=t61rcWkgMzE"),
                ])
            #expect(response.status == 200)
            let seen = try #require(gateway.mock.stats.recentRequests.last)
            let parent = try #require(seen.header("traceparent"))
            #expect(parent.hasPrefix("00-\(traceID)-") && parent.hasSuffix("-01"))
            #expect(!parent.contains("00f067aa0ba902b7"), "the attempt is a span of its own")
            #expect(seen.header("tracestate") == "congo=t61rcWkgMzE")
            let line = try #require(await gateway.accessLines(requestID: "traced").first)
            #expect(line["trace_id"] as? String == traceID)

            // An invalid one is replaced by a new trace, the same upstream and in the log.
            let replaced = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "smart"),
                headers: [("x-request-id", "untraced"), ("traceparent", "00-\(traceID)-0000000000000000-01")])
            #expect(replaced.status == 200)
            let generated = try #require(await gateway.accessLines(requestID: "untraced").first?["trace_id"] as? String)
            #expect(generated.count == 32 && generated != traceID)
            #expect(generated.allSatisfy { "0123456789abcdef".contains($0) })
            let upstream = try #require(gateway.mock.stats.recentRequests.last?.header("traceparent"))
            #expect(upstream.hasPrefix("00-\(generated)-"))
        }
    }

    static func lines(_ path: String) throws -> [[String: Any]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    static func waitForLines(
        in path: String, sourceLocation: SourceLocation = #_sourceLocation, until done: ([[String: Any]]) -> Bool
    ) async throws {
        for _ in 0..<250 {
            if let lines = try? lines(path), done(lines) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("\(path) never had the lines expected", sourceLocation: sourceLocation)
    }
}

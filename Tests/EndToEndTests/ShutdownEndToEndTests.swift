import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Drain, signals, the socket file shared by a predecessor and its successor, and core dumps.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ShutdownEndToEndTests {
    @Test func streamsStillRunningAtTheDrainTimeoutEndWithTheirDialectsErrorEvent() async throws {
        var options = GatewayHarness.Options()
        options.drainTimeout = "1s"
        try await withGateway(options) { gateway in
            let client = gateway.client
            async let openAI = client.post("/v1/chat/completions", json: .chatRequest(model: "stalled", stream: true))
            async let anthropic = client.post(
                "/v1/messages",
                json: #"{"model":"stalled","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"x"}]}"#)
            // Both streams are under way (past their first event) before the gateway is asked to stop.
            for _ in 0..<1000 where gateway.mock.stats.requests < 2 { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(500))
            gateway.signal(SIGTERM)
            let cutOpenAI = try await openAI.text
            #expect(cutOpenAI.contains("data: {\"error\":"), "\(cutOpenAI)")
            #expect(!cutOpenAI.contains("[DONE]"))
            let cutAnthropic = try await anthropic.text
            #expect(cutAnthropic.contains("event: error\ndata: {\"type\":\"error\""), "\(cutAnthropic)")
            #expect(!cutAnthropic.contains("message_stop"))
            #expect(await gateway.waitForExit() == 0)
            let outcomes = gateway.logLines().filter { $0["msg"] as? String == "request" }.map {
                $0["outcome"] as? String
            }
            #expect(outcomes == ["stream_cut", "stream_cut"])
        }
    }

    @Test func aKeepAliveResponseStartedDuringTheDrainSaysConnectionClose() async throws {
        try await withGateway { gateway in
            let socketPath = gateway.socketPath
            async let raw = blocking {
                let connection = try RawConnection(.unix(socketPath))
                defer { connection.close() }
                let body = Array(String.chatRequest(model: "late").utf8)
                let request =
                    "POST /v1/chat/completions HTTP/1.1\r\nhost: l\r\ncontent-type: application/json\r\n"
                    + "content-length: \(body.count)\r\n\r\n" + String(decoding: body, as: UTF8.self)
                try connection.write(Array(request.utf8))
                return try connection.readToEnd(timeoutSeconds: 10)  // ends because the gateway closes
            }
            for _ in 0..<200 where gateway.mock.stats.requests == 0 { try await Task.sleep(for: .milliseconds(10)) }
            gateway.signal(SIGTERM)
            // The drain has begun once the socket file is gone; the answer (4 s late) comes after.
            for _ in 0..<300 where FileManager.default.fileExists(atPath: gateway.socketPath) {
                try await Task.sleep(for: .milliseconds(10))
            }
            let response = try HTTPResponse.parse(try await raw)
            #expect(response.status == 200)
            #expect(response.header("connection") == "close")
            #expect(await gateway.waitForExit() == 0)
        }
    }

    @Test func aSuccessorsSocketSurvivesItsPredecessorsExit() async throws {
        try await withGateway { gateway in
            let client = gateway.client
            async let inFlight = client.post("/v1/chat/completions", json: .chatRequest(model: "late"))
            for _ in 0..<200 where gateway.mock.stats.requests == 0 { try await Task.sleep(for: .milliseconds(10)) }
            gateway.signal(SIGTERM)
            // The predecessor gives the path up when its drain begins; the successor takes it.
            for _ in 0..<200 where FileManager.default.fileExists(atPath: gateway.socketPath) {
                try await Task.sleep(for: .milliseconds(10))
            }
            let successor = try startGateway(configPath: gateway.configPath)
            defer { stopGateway(successor) }
            try await waitUntilAnswering(gateway.socketPath, process: successor.process)
            #expect(try await inFlight.status == 200, "the predecessor finished its request")
            #expect(await gateway.waitForExit() == 0)
            #expect(
                FileManager.default.fileExists(atPath: gateway.socketPath),
                "the predecessor removed its successor's socket")
            #expect(try await client.get("/healthz").status == 200)
            #expect(successor.process.isRunning)
        }
    }

    @Test func ofTwoSimultaneousStartsExactlyOneServes() async throws {
        try await withGateway { gateway in
            let twinConfig = try gateway.configuration(listeningOn: "twin")
            let first = try startGateway(configPath: twinConfig)
            let second = try startGateway(configPath: twinConfig)
            defer {
                stopGateway(first)
                stopGateway(second)
            }
            let deadline = ContinuousClock.now + .seconds(20)
            while first.process.isRunning && second.process.isRunning && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            let (winner, loser) = first.process.isRunning ? (first, second) : (second, first)
            #expect(winner.process.isRunning)
            #expect(!loser.process.isRunning)
            try await blocking { loser.process.waitUntilExit() }
            #expect(loser.process.terminationStatus != 0)
            #expect(loser.output().contains("already listening"), "\(loser.output())")
            try await waitUntilAnswering(gateway.directory.path + "/twin.sock", process: winner.process)
        }
    }

    @Test func aSighupDuringStartDoesNotKillTheProcess() async throws {
        try await withGateway { gateway in
            let hupConfig = try gateway.configuration(listeningOn: "hup")
            let started = try startGateway(configPath: hupConfig)
            defer { stopGateway(started) }
            // Reload requests while the gateway starts (from its first log line until it listens),
            // before the reload handler is installed.
            let hupSocket = gateway.directory.path + "/hup.sock"
            try await blocking {
                for _ in 0..<500 where !started.output().contains("\"starting\"") { usleep(2000) }
                for _ in 0..<200 where (try? RawConnection(.unix(hupSocket)))?.close() == nil {
                    kill(started.process.processIdentifier, SIGHUP)
                    usleep(2000)
                }
            }
            try await waitUntilAnswering(gateway.directory.path + "/hup.sock", process: started.process)
            #expect(started.process.isRunning)
            // Once running, SIGHUP still reloads the configuration.
            kill(started.process.processIdentifier, SIGHUP)
            let deadline = ContinuousClock.now + .seconds(10)
            while !started.output().contains("configuration reloaded") && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(started.output().contains("configuration reloaded"))
        }
    }

    @Test func coreDumpsAreOffByDefault() async throws {
        try await withGateway { gateway in
            let limits = try String(
                contentsOfFile: "/proc/\(gateway.process.processIdentifier)/limits", encoding: .utf8)
            let core = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") } ?? ""
            let fields = core.split(separator: " ").suffix(3)
            #expect(Array(fields.prefix(2)) == ["0", "0"], "\(core)")
        }
    }
}

/// A gateway process started by a test besides the harness's own.
struct StartedGateway: @unchecked Sendable {  // Process is thread-safe for what the tests use
    let process: ChildProcess
    let outputPath: String

    func output() -> String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
}

func startGateway(configPath: String) throws -> StartedGateway {
    let outputPath = configPath + ".\(UUID().uuidString.prefix(6)).out"
    _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
    let process = ChildProcess()
    process.executableURL = try GatewayBinary.url("llmgw")
    process.arguments = ["serve", "--config", configPath]
    var environment = ProcessInfo.processInfo.environment
    environment["LLMGW_E2E_KEY"] = GatewayBinary.providerKey
    process.environment = environment
    let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
    process.standardOutput = output
    process.standardError = output
    try process.run()
    return StartedGateway(process: process, outputPath: outputPath)
}

/// Asks the gateway to stop (SIGTERM) without waiting: it drains and exits on its own.
func stopGateway(_ gateway: StartedGateway) {
    if gateway.process.isRunning { kill(gateway.process.processIdentifier, SIGTERM) }
}

func waitUntilAnswering(_ socketPath: String, process: ChildProcess) async throws {
    try await GatewayBinary.waitUntilListening(
        socketPath, attempts: 400, interval: .milliseconds(25), isRunning: { process.isRunning })
}

extension GatewayHarness {
    /// A copy of this gateway's configuration that listens on `<name>.sock` in its directory;
    /// returns the copy's path (`<name>.yaml`).
    func configuration(listeningOn name: String) throws -> String {
        let config = try String(contentsOfFile: configPath, encoding: .utf8)
            .replacingOccurrences(of: socketPath, with: directory.path + "/\(name).sock")
        let path = directory.path + "/\(name).yaml"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Client disconnects, graceful shutdown and the socket file's life.
@Suite(.timeLimit(.minutes(2))) struct LifecycleEndToEndTests {
    @Test func clientDisconnectMidStreamAbortsTheUpstreamTransfer() async throws {
        try await withGateway { gateway in
            let before = gateway.mock.stats.streamsAbortedByClient
            _ = try await gateway.client.sendAndHangUp(
                "POST",
                "/v1/chat/completions",
                headers: [("content-type", "application/json")],
                body: Array(String.chatRequest(model: "slow", stream: true).utf8)
            ) { received in
                String(decoding: received, as: UTF8.self).contains("\"content\":\"")
            }
            var aborted = false
            for _ in 0..<100 where !aborted {
                aborted = gateway.mock.stats.streamsAbortedByClient > before
                if !aborted { try await Task.sleep(for: .milliseconds(30)) }
            }
            #expect(aborted, "the mock never saw the gateway close the upstream stream")
            #expect(gateway.mock.stats.streamsCompleted == 0)
        }
    }

    @Test func sigtermLetsAnInFlightStreamFinishThenRemovesTheSocket() async throws {
        try await withGateway { gateway in
            let client = gateway.client
            async let streamed = client.post("/v1/chat/completions", json: .chatRequest(model: "slow", stream: true))
            // Wait until the stream is under way, then ask the gateway to stop.
            for _ in 0..<100 where gateway.mock.stats.requests == 0 {
                try await Task.sleep(for: .milliseconds(20))
            }
            try await Task.sleep(for: .milliseconds(300))
            gateway.signal(SIGTERM)
            let response = try await streamed
            #expect(response.status == 200)
            #expect(response.text.hasSuffix("data: [DONE]\n\n"))
            let status = await gateway.waitForExit()
            #expect(status == 0)
            #expect(!FileManager.default.fileExists(atPath: gateway.socketPath))
        }
    }

    @Test func aSecondGatewayRefusesALiveSocket() async throws {
        try await withGateway { gateway in
            let configPath = gateway.directory.appendingPathComponent("llmgw.yaml").path
            let second = try startGateway(configPath: configPath)
            defer { stopGateway(second) }
            try await blocking { second.process.waitUntilExit() }
            let text = second.output()
            #expect(second.process.terminationStatus != 0)
            #expect(text.contains("already listening"))
            // The first gateway is unharmed.
            let health = try await gateway.client.get("/healthz")
            #expect(health.status == 200)
        }
    }
}

import Foundation
import GatewayTesting
import Testing

/// Failover against the mock's injected faults, over the real socket and libcurl.
@Suite(.timeLimit(.minutes(2))) struct FailoverEndToEndTests {
    @Test func aPrimaryFailingTwiceIsRetriedThenTheSecondaryAnswers() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "flaky"))
            #expect(response.status == 200)
            #expect(response.header("x-llmgw-attempts") == "3")
        }
    }

    @Test func aRateLimitWithRetryAfterIsWaitedForOnTheSameTarget() async throws {
        try await withGateway { gateway in
            let started = ContinuousClock.now
            let response = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "throttled"))
            #expect(response.status == 200)
            #expect(response.header("x-llmgw-attempts") == "2")
            #expect(ContinuousClock.now - started >= .seconds(1))
        }
    }

    @Test func aHangBeforeTheFirstByteTimesOutToTheSecondary() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "hangover"),
                headers: [("x-request-id", "e2e-hangover")]
            )
            #expect(response.status == 200)
            let line = try #require(await gateway.accessLines(requestID: "e2e-hangover").first)
            let attempts = try #require(line["attempts"] as? [[String: Any]])
            #expect((attempts.first?["error"] as? String)?.contains("first_byte_timeout") == true)
        }
    }

    @Test func aConnectionResetFailsOver() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "resetting"))
            #expect(response.status == 200)
            #expect(response.header("x-llmgw-provider") == "mock")
        }
    }

    @Test func aStreamCutAfterThePreambleOnlyIsAnsweredInFullByTheSecondary() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "preamblecut", stream: true)
            )
            #expect(response.status == 200)
            #expect(response.text.hasSuffix("data: [DONE]\n\n"))
            #expect(!response.text.contains(#""error""#))
            // Exactly one role chunk: the first attempt's preamble never reached the client.
            #expect(response.text.components(separatedBy: #""role":"assistant""#).count == 2)
            #expect((Int(response.header("x-llmgw-attempts") ?? "") ?? 0) >= 2)
        }
    }

    @Test func aStreamCutAfterRealContentEndsWithAnErrorAndNoDone() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "contentcut", stream: true),
                headers: [("x-request-id", "e2e-contentcut")]
            )
            #expect(response.status == 200)
            #expect(response.text.contains(#"data: {"error":{"#))
            #expect(!response.text.contains("[DONE]"))
            let line = try #require(await gateway.accessLines(requestID: "e2e-contentcut").first)
            #expect(line["outcome"] as? String == "stream_cut")
        }
    }

    @Test func allTargetsDownIs502NamingEachAttempt() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "alldown"))
            #expect(response.status == 502)
            let message = try #require((try response.json()["error"] as? [String: Any])?["message"] as? String)
            #expect(message.contains("down/gpt-4o: connect"))
            #expect(message.contains("mock/gpt-4o#status=500: HTTP 500"))
        }
    }
}

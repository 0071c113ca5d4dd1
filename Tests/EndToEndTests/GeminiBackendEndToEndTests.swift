import Foundation
import GatewayTesting
import Testing

/// OpenAI-dialect clients served by a `kind: gemini` provider (the strict Gemini mock).
@Suite(.timeLimit(.minutes(2))) struct GeminiBackendEndToEndTests {
    @Test func aChatIsTranslatedBothWaysWithTheKeyInAHeader() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "gemini"),
                headers: [("x-request-id", "e2e-gemini")]
            )
            #expect(response.status == 200, "\(response.text)")
            let json = try response.json()
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            #expect(((choice["message"] as? [String: Any])?["content"] as? String)?.isEmpty == false)
            let sent = try #require(gateway.gemini.stats.recentRequests.last)
            #expect(sent.path == "/v1beta/models/gemini-2.5-flash:generateContent")
            #expect(sent.header("x-goog-api-key") == GatewayBinary.providerKey)
            #expect(!sent.uri.contains("key="))
            let line = try #require(await gateway.accessLines(requestID: "e2e-gemini").first)
            #expect((line["prompt_tokens"] as? Int ?? 0) > 0)
        }
    }

    @Test func aStreamBecomesOpenAIChunksEndingWithDone() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "gemini", stream: true, includeUsage: true)
            )
            #expect(response.status == 200)
            #expect(response.text.hasSuffix("data: [DONE]\n\n"), "\(response.text)")
            #expect(response.text.contains(#""usage":{"#))
        }
    }

    @Test func aRateLimitIsRetriedAfterTheDelayInRetryInfo() async throws {
        try await withGateway { gateway in
            let started = ContinuousClock.now
            let response = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "gemini-throttled"))
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-llmgw-attempts") == "2")
            // Gemini sends no retry-after header: the wait (1 s) came from the body's RetryInfo.
            #expect(ContinuousClock.now - started >= .milliseconds(950))
        }
    }

    @Test func aSafetyStopIsAContentFilterFinish() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "gemini", text: "something UNSAFE here")
            )
            #expect(response.status == 200)
            let choice = try #require((try response.json()["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "content_filter")
        }
    }
}

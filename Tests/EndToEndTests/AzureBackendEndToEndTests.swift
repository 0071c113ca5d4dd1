import Foundation
import GatewayTesting
import Testing

/// OpenAI-dialect clients served by a `kind: azure` provider (the strict Azure mock).
@Suite(.timeLimit(.minutes(2))) struct AzureBackendEndToEndTests {
    @Test func aChatGoesToTheDeploymentURLWithTheAPIKeyHeader() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "azure"))
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-llmgw-provider") == "azure-eu")
            let sent = try #require(gateway.azure.stats.recentRequests.last)
            #expect(sent.path == "/openai/deployments/gpt4o-prod/chat/completions")
            #expect(sent.uri.contains("api-version=2024-10-21"))
            #expect(sent.header("api-key") == GatewayBinary.providerKey)
            #expect(sent.header("authorization") == nil)
        }
    }

    @Test func theAnnotationChunkIsPreambleAndTheStreamEndsWithDone() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "azure", stream: true, includeUsage: true),
                headers: [("x-request-id", "e2e-azure-stream")]
            )
            #expect(response.status == 200)
            #expect(response.text.hasSuffix("data: [DONE]\n\n"))
            #expect(response.text.contains("prompt_filter_results"))
            let line = try #require(await gateway.accessLines(requestID: "e2e-azure-stream").first)
            #expect((line["completion_tokens"] as? Int ?? 0) > 0)
        }
    }

    @Test func aContentFilterRefusalIsRelayedAsTheClientsError() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "azure", text: "please BLOCKME now")
            )
            #expect(response.status == 400)
            #expect(response.text.contains("content_filter"))
            #expect(gateway.azure.stats.requests == 1, "a content-filter refusal is not retried")
        }
    }
}

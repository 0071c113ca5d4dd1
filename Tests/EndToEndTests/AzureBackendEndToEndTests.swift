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

    @Test func anOpenAIClientSeesOpenAIShapedChunksFromAzure() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "azure", stream: true, includeUsage: true),
                headers: [("x-request-id", "e2e-azure-stream")]
            )
            #expect(response.status == 200)
            #expect(response.text.hasSuffix("data: [DONE]\n\n"))
            // The annotation chunk (no choices, empty id and object) never reaches the client; the
            // per-choice filter results stay; only the usage chunk has no choices.
            #expect(!response.text.contains("prompt_filter_results"))
            #expect(!response.text.contains(#""object":"""#))
            #expect(response.text.contains("content_filter_results"))
            let chunks = response.text.components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }
            for chunk in chunks {
                let object = try #require(
                    try JSONSerialization.jsonObject(with: Data(chunk.dropFirst(6).utf8)) as? [String: Any])
                #expect(object["object"] as? String == "chat.completion.chunk", "\(chunk)")
                let choices = object["choices"] as? [Any] ?? []
                #expect(!choices.isEmpty || object["usage"] is [String: Any], "\(chunk)")
            }
            let line = try #require(await gateway.accessLines(requestID: "e2e-azure-stream").first)
            #expect((line["completion_tokens"] as? Int ?? 0) > 0)
        }
    }

    @Test func rawStreamRelaysAzureByteForByte() async throws {
        try await withGateway { gateway in
            let config = try String(contentsOfFile: gateway.configPath, encoding: .utf8)
                .replacingOccurrences(
                    of: #"api_version: "2024-10-21" }"#, with: #"api_version: "2024-10-21", raw_stream: true }"#)
            try config.write(toFile: gateway.configPath, atomically: true, encoding: .utf8)
            gateway.signal(SIGHUP)
            for _ in 0..<250 where !gateway.stdout().contains("configuration reloaded") {
                try await Task.sleep(for: .milliseconds(20))
            }
            let response = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "azure", stream: true))
            #expect(response.status == 200)
            #expect(response.text.hasPrefix(#"data: {"choices":[],"created":0,"id":"","model":"","object":"","#))
            #expect(response.text.contains("prompt_filter_results"))
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

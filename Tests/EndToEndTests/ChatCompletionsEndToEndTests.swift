import Foundation
import GatewayTesting
import Testing

/// Chat, embeddings and models over the real Unix socket, through libcurl, to the mock provider.
@Suite(.timeLimit(.minutes(2))) struct ChatCompletionsEndToEndTests {
    @Test func nonStreamChatIsRelayedWithTheKeyInjected() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "smart"),
                headers: [
                    ("authorization", "Bearer client-secret-must-not-travel"), ("x-request-id", "e2e-nonstream-1"),
                ]
            )
            #expect(response.status == 200)
            #expect(response.header("x-request-id") == "e2e-nonstream-1")
            #expect(response.header("x-llmgw-provider") == "mock")
            #expect(response.header("x-llmgw-attempts") == "1")
            #expect(Int(response.header("x-llmgw-overhead-us") ?? "") != nil)
            let json = try response.json()
            let choices = try #require(json["choices"] as? [[String: Any]])
            let message = try #require(choices.first?["message"] as? [String: Any])
            #expect((message["content"] as? String)?.isEmpty == false)

            let seen = try #require(gateway.mock.stats.recentRequests.last)
            #expect(seen.header("authorization") == "Bearer \(GatewayBinary.providerKey)")
            let sentBody = try JSONSerialization.jsonObject(with: Data(seen.body)) as? [String: Any]
            #expect(sentBody?["model"] as? String == "gpt-4o-mini")

            let lines = await gateway.accessLines(requestID: "e2e-nonstream-1")
            #expect(lines.count == 1)
            let line = try #require(lines.first)
            for field in [
                "ts", "level", "msg", "request_id", "caller", "route", "model", "provider", "upstream_model", "status",
                "outcome", "stream", "cache", "attempts", "latency_ms", "ttfb_ms", "overhead_us", "prompt_tokens",
                "completion_tokens", "cost_usd",
            ] {
                #expect(line[field] != nil, "access line lacks \(field)")
            }
            #expect(line["model"] as? String == "smart")
            #expect(line["upstream_model"] as? String == "gpt-4o-mini")
            #expect(line["outcome"] as? String == "ok")
            #expect(line["status"] as? Int == 200)
            #expect((line["caller"] as? String)?.hasPrefix("peer:uid=") == true)
            let usage = try #require(json["usage"] as? [String: Any])
            #expect(line["prompt_tokens"] as? Int == usage["prompt_tokens"] as? Int)
            #expect(line["completion_tokens"] as? Int == usage["completion_tokens"] as? Int)
        }
    }

    @Test func streamedBytesEqualWhatTheProviderSent() async throws {
        try await withGateway { gateway in
            let body = String.chatRequest(model: "smart", stream: true, includeUsage: true)
            let viaGateway = try await gateway.client.post("/v1/chat/completions", json: body)
            #expect(viaGateway.status == 200)
            #expect(viaGateway.header("content-type")?.hasPrefix("text/event-stream") == true)

            let direct = try await HTTPClient(gateway.mock.endpoint).post(
                "/v1/chat/completions",
                json: String.chatRequest(model: "gpt-4o-mini", stream: true, includeUsage: true),
                headers: [("authorization", "Bearer \(GatewayBinary.providerKey)")]
            )
            #expect(Self.normalized(viaGateway.text) == Self.normalized(direct.text))
            #expect(viaGateway.text.hasSuffix("data: [DONE]\n\n"))
            #expect(viaGateway.text.contains(#""usage":{"#))
        }
    }

    @Test func forcedUsageChunkIsStrippedButLogged() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "smart", stream: true),
                headers: [("x-request-id", "e2e-stream-usage")]
            )
            #expect(response.status == 200)
            #expect(!response.text.contains(#""usage":{"#))
            #expect(response.text.hasSuffix("data: [DONE]\n\n"))
            let sent = try #require(gateway.mock.stats.recentRequests.last)
            #expect(String(decoding: sent.body, as: UTF8.self).contains(#""include_usage":true"#))
            let line = try #require(await gateway.accessLines(requestID: "e2e-stream-usage").first)
            #expect(line["stream"] as? Bool == true)
            #expect((line["prompt_tokens"] as? Int ?? 0) > 0)
            #expect((line["completion_tokens"] as? Int ?? 0) > 0)
            #expect(line["ttfb_ms"] as? Double != nil)
        }
    }

    @Test func modelsListShowsTheConfiguredNames() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.get("/v1/models")
            #expect(response.status == 200)
            let json = try response.json()
            #expect(json["object"] as? String == "list")
            let ids = (json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids?.contains("smart") == true)
            #expect(ids?.contains("embed") == true)
        }
    }

    @Test func embeddingsAreRelayed() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/embeddings",
                json: #"{"model":"embed","input":["hello","world"],"encoding_format":"float"}"#
            )
            #expect(response.status == 200)
            let json = try response.json()
            #expect((json["data"] as? [[String: Any]])?.count == 2)
            #expect(response.header("x-llmgw-provider") == "mock")
        }
    }

    @Test func healthAndReadiness() async throws {
        try await withGateway { gateway in
            let health = try await gateway.client.get("/healthz")
            let ready = try await gateway.client.get("/readyz")
            #expect(health.status == 200)
            #expect(ready.status == 200)
        }
    }

    /// Replaces the per-request parts (id, created, obfuscation padding) so two answers to the
    /// same request compare equal.
    static func normalized(_ text: String) -> String {
        var result = text
        for pattern in [
            #""id":"[^"]*""#, #""created":[0-9]+"#, #","obfuscation":"[^"]*""#, #""system_fingerprint":"[^"]*""#,
        ] {
            result = result.replacingOccurrences(of: pattern, with: "", options: .regularExpression)
        }
        return result
    }
}

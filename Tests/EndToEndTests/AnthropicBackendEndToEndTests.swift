import Foundation
import GatewayTesting
import Testing

/// OpenAI-dialect clients served by a `kind: anthropic` provider (the strict Anthropic mock).
@Suite(.timeLimit(.minutes(2))) struct AnthropicBackendEndToEndTests {
    @Test func aChatIsTranslatedBothWaysWithUsage() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json:
                    #"{"model":"claude","messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"Hello there"}]}"#,
                headers: [("x-request-id", "e2e-claude")]
            )
            #expect(response.status == 200, "\(response.text)")
            let json = try response.json()
            #expect(json["object"] as? String == "chat.completion")
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            #expect(((choice["message"] as? [String: Any])?["content"] as? String)?.isEmpty == false)
            #expect(choice["finish_reason"] as? String == "stop")
            let usage = try #require(json["usage"] as? [String: Any])
            // What the provider saw: Anthropic's own shape and headers.
            let sent = try #require(gateway.anthropic.stats.recentRequests.last)
            #expect(sent.path == "/v1/messages")
            #expect(sent.header("x-api-key") == GatewayBinary.providerKey)
            let body = try JSONSerialization.jsonObject(with: Data(sent.body)) as? [String: Any]
            #expect(body?["system"] != nil)
            #expect(body?["max_tokens"] != nil)
            let line = try #require(await gateway.accessLines(requestID: "e2e-claude").first)
            #expect(line["provider"] as? String == "claude")
            #expect(line["prompt_tokens"] as? Int == usage["prompt_tokens"] as? Int)
            #expect(line["completion_tokens"] as? Int == usage["completion_tokens"] as? Int)
        }
    }

    @Test func aStreamBecomesOpenAIChunksEndingWithDone() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "claude", stream: true, includeUsage: true, text: "Stream please"),
                headers: [("x-request-id", "e2e-claude-stream")]
            )
            #expect(response.status == 200)
            #expect(response.text.hasSuffix("data: [DONE]\n\n"), "\(response.text)")
            #expect(!response.text.contains("event:"))
            #expect(response.text.contains(#""object":"chat.completion.chunk""#))
            #expect(response.text.contains(#""usage":{"#))
            let line = try #require(await gateway.accessLines(requestID: "e2e-claude-stream").first)
            #expect((line["completion_tokens"] as? Int ?? 0) > 0)
        }
    }

    @Test func aToolCallRoundTripsThroughAnthropic() async throws {
        try await withGateway { gateway in
            let tools =
                #"[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]"#
            let first = try await gateway.client.post(
                "/v1/chat/completions",
                json:
                    #"{"model":"claude","tools":\#(tools),"messages":[{"role":"user","content":"Weather in Paris?"}]}"#
            )
            #expect(first.status == 200, "\(first.text)")
            let message = try #require(
                ((try first.json()["choices"] as? [[String: Any]])?.first)?["message"] as? [String: Any])
            let call = try #require((message["tool_calls"] as? [[String: Any]])?.first)
            let id = try #require(call["id"] as? String)
            let function = try #require(call["function"] as? [String: Any])
            let arguments = try #require(function["arguments"] as? String)
            let second = try await gateway.client.post(
                "/v1/chat/completions",
                json: #"""
                    {"model":"claude","tools":\#(tools),"messages":[{"role":"user","content":"Weather in Paris?"},
                    {"role":"assistant","content":null,"tool_calls":[{"id":"\#(id)","type":"function","function":{"name":"get_weather","arguments":\#(String(decoding: try JSONSerialization.data(withJSONObject: arguments, options: .fragmentsAllowed), as: UTF8.self))}}]},
                    {"role":"tool","tool_call_id":"\#(id)","content":"18C, cloudy"}]}
                    """#
            )
            #expect(second.status == 200, "\(second.text)")
            #expect(second.text.contains("18C"))
        }
    }

    @Test func anOverloadedAnthropicFailsOverToTheOpenAITarget() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "claude-first"))
            #expect(response.status == 200)
            #expect(response.header("x-llmgw-provider") == "mock")
            #expect(response.header("x-llmgw-attempts") == "3")
        }
    }
}

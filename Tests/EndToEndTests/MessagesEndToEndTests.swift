import Foundation
import GatewayTesting
import Testing

/// Anthropic-dialect clients (`POST /v1/messages`) served by every provider kind: passed through
/// to `kind: anthropic`, translated through the canonical model to the others.
@Suite(.timeLimit(.minutes(2))) struct MessagesEndToEndTests {
    static func messages(_ model: String, stream: Bool = false, text: String = "Hello there") -> String {
        #"{"model":"\#(model)","max_tokens":256,"system":"Be terse.","stream":\#(stream),"messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    static let tools =
        #"[{"name":"get_weather","description":"Current weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]"#

    @Test(arguments: ["smart", "claude", "gemini", "azure"])
    func aMessageIsAnsweredInAnthropicsShapeWithUsage(model: String) async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/messages",
                json: Self.messages(model),
                headers: [("x-request-id", "e2e-msg-\(model)"), ("anthropic-version", "2023-06-01")]
            )
            #expect(response.status == 200, "\(response.text)")
            let json = try response.json()
            #expect(json["type"] as? String == "message")
            #expect(json["role"] as? String == "assistant")
            #expect((json["id"] as? String)?.hasPrefix("msg_") == true)
            let content = try #require(json["content"] as? [[String: Any]])
            #expect(content.first?["type"] as? String == "text")
            #expect((content.first?["text"] as? String)?.isEmpty == false)
            #expect(json["stop_reason"] as? String == "end_turn")
            let usage = try #require(json["usage"] as? [String: Any])
            let input = try #require(usage["input_tokens"] as? Int)
            let output = try #require(usage["output_tokens"] as? Int)
            #expect(input > 0 && output > 0)
            let line = try #require(await gateway.accessLines(requestID: "e2e-msg-\(model)").first)
            #expect(line["route"] as? String == "/v1/messages")
            #expect(line["outcome"] as? String == "ok")
            let cached =
                (usage["cache_read_input_tokens"] as? Int ?? 0) + (usage["cache_creation_input_tokens"] as? Int ?? 0)
            #expect(line["prompt_tokens"] as? Int == input + cached)
            #expect(line["completion_tokens"] as? Int == output)
        }
    }

    @Test(arguments: ["smart", "claude", "gemini", "azure"])
    func aStreamFollowsAnthropicsEventOrder(model: String) async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/messages",
                json: Self.messages(model, stream: true, text: "Stream please"),
                headers: [("x-request-id", "e2e-msg-stream-\(model)")]
            )
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("content-type") == "text/event-stream")
            let events = Self.events(response.text)
            let names = events.map(\.name).filter { $0 != "ping" }
            #expect(names.first == "message_start", "\(names)")
            #expect(names.last == "message_stop", "\(names)")
            #expect(names.dropLast().last == "message_delta", "\(names)")
            #expect(names.contains("content_block_start") && names.contains("content_block_delta"))
            #expect(
                names.filter { $0 == "content_block_start" }.count == names.filter { $0 == "content_block_stop" }.count)
            for event in events { #expect(event.data["type"] as? String == event.name) }
            let text = events.compactMap { ($0.data["delta"] as? [String: Any])?["text"] as? String }.joined()
            #expect(!text.isEmpty)
            let delta = try #require(events.first { $0.name == "message_delta" })
            #expect((delta.data["delta"] as? [String: Any])?["stop_reason"] as? String == "end_turn")
            let usage = try #require(delta.data["usage"] as? [String: Any])
            let line = try #require(await gateway.accessLines(requestID: "e2e-msg-stream-\(model)").first)
            #expect(line["completion_tokens"] as? Int == usage["output_tokens"] as? Int)
            #expect((line["completion_tokens"] as? Int ?? 0) > 0)
            #expect((line["prompt_tokens"] as? Int ?? 0) > 0)
        }
    }

    @Test(arguments: ["smart", "claude", "gemini", "azure"])
    func aToolUseRoundTrips(model: String) async throws {
        try await withGateway { gateway in
            let first = try await gateway.client.post(
                "/v1/messages",
                json:
                    #"{"model":"\#(model)","max_tokens":256,"tools":\#(Self.tools),"messages":[{"role":"user","content":"Weather in Paris?"}]}"#
            )
            #expect(first.status == 200, "\(first.text)")
            let answer = try first.json()
            #expect(answer["stop_reason"] as? String == "tool_use")
            let content = try #require(answer["content"] as? [[String: Any]])
            let toolUse = try #require(content.first { $0["type"] as? String == "tool_use" })
            let id = try #require(toolUse["id"] as? String)
            #expect(toolUse["name"] as? String == "get_weather")
            let input = try #require(toolUse["input"] as? [String: Any])
            let inputJSON = String(decoding: try JSONSerialization.data(withJSONObject: input), as: UTF8.self)
            let second = try await gateway.client.post(
                "/v1/messages",
                json: #"""
                    {"model":"\#(model)","max_tokens":256,"tools":\#(Self.tools),"messages":[
                    {"role":"user","content":"Weather in Paris?"},
                    {"role":"assistant","content":[{"type":"tool_use","id":"\#(id)","name":"get_weather","input":\#(inputJSON)}]},
                    {"role":"user","content":[{"type":"tool_result","tool_use_id":"\#(id)","content":"18C, cloudy"}]}]}
                    """#
            )
            #expect(second.status == 200, "\(second.text)")
            #expect(second.text.contains("18C"))
        }
    }

    @Test func aStreamedToolUseCarriesItsArgumentsAsInputJSONDeltas() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/messages",
                json:
                    #"{"model":"smart","max_tokens":256,"stream":true,"tools":\#(Self.tools),"messages":[{"role":"user","content":"Weather in Paris?"}]}"#
            )
            #expect(response.status == 200, "\(response.text)")
            let events = Self.events(response.text)
            let start = try #require(
                events.first { ($0.data["content_block"] as? [String: Any])?["type"] as? String == "tool_use" })
            let block = try #require(start.data["content_block"] as? [String: Any])
            #expect((block["input"] as? [String: Any])?.isEmpty == true)
            let index = try #require(start.data["index"] as? Int)
            let json = events.filter { $0.data["index"] as? Int == index }
                .compactMap { ($0.data["delta"] as? [String: Any])?["partial_json"] as? String }.joined()
            let arguments = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
            #expect(arguments?["city"] != nil, "\(json)")
            let delta = try #require(events.first { $0.name == "message_delta" })
            #expect((delta.data["delta"] as? [String: Any])?["stop_reason"] as? String == "tool_use")
        }
    }

    @Test func theAnthropicTargetGetsTheClientsBodyAndVersionWithTheGatewaysKey() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/messages",
                json:
                    #"{"model":"claude","max_tokens":64,"system":[{"type":"text","text":"Be terse.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"Hi"}]}"#,
                headers: [
                    ("x-api-key", "client-key-ignored"), ("anthropic-version", "2023-06-01"),
                    ("anthropic-beta", "prompt-caching-2024-07-31"),
                ]
            )
            #expect(response.status == 200, "\(response.text)")
            let sent = try #require(gateway.anthropic.stats.recentRequests.last)
            #expect(sent.path == "/v1/messages")
            #expect(sent.header("x-api-key") == GatewayBinary.providerKey)
            #expect(sent.header("anthropic-version") == "2023-06-01")
            #expect(sent.header("anthropic-beta") == "prompt-caching-2024-07-31")
            let body = try #require(try JSONSerialization.jsonObject(with: Data(sent.body)) as? [String: Any])
            #expect(body["model"] as? String == "claude-sonnet-4-5")
            // Passed through untouched: cache_control survives.
            #expect(String(decoding: sent.body, as: UTF8.self).contains("cache_control"))
        }
    }

    @Test func anOverloadedAnthropicFailsOverToOpenAIForAMessagesClient() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post("/v1/messages", json: Self.messages("claude-first"))
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-llmgw-provider") == "mock")
            #expect(try response.json()["type"] as? String == "message")
        }
    }

    @Test func errorsComeInAnthropicsShape() async throws {
        try await withGateway { gateway in
            let unknown = try await gateway.client.post("/v1/messages", json: Self.messages("nope"))
            #expect(unknown.status == 404)
            let unknownJSON = try unknown.json()
            #expect(unknownJSON["type"] as? String == "error")
            #expect((unknownJSON["error"] as? [String: Any])?["type"] as? String == "not_found_error")

            let noMax = try await gateway.client.post(
                "/v1/messages", json: #"{"model":"smart","messages":[{"role":"user","content":"Hi"}]}"#)
            #expect(noMax.status == 400)
            let noMaxError = try #require(try noMax.json()["error"] as? [String: Any])
            #expect(noMaxError["type"] as? String == "invalid_request_error")
            #expect((noMaxError["message"] as? String)?.contains("max_tokens") == true)

            let broken = try await gateway.client.post("/v1/messages", json: Self.messages("broken"))
            #expect(broken.status == 502)
            #expect((try broken.json()["error"] as? [String: Any])?["type"] as? String == "api_error")

            let badJSON = try await gateway.client.post("/v1/messages", json: "{nope")
            #expect(badJSON.status == 400)
            #expect(try badJSON.json()["type"] as? String == "error")

            let wrongMethod = try await gateway.client.get("/v1/messages")
            #expect(wrongMethod.status == 405)
            #expect(try wrongMethod.json()["type"] as? String == "error")
        }
    }

    @Test func countTokensAsksAnAnthropicTargetAndEstimatesOtherwise() async throws {
        try await withGateway { gateway in
            let body = #"{"model":"claude","messages":[{"role":"user","content":"How many tokens is this?"}]}"#
            let counted = try await gateway.client.post("/v1/messages/count_tokens", json: body)
            #expect(counted.status == 200, "\(counted.text)")
            let exact = try #require(try counted.json()["input_tokens"] as? Int)
            #expect(counted.header("x-llmgw-token-count") == nil)
            #expect(gateway.anthropic.stats.recentRequests.last?.path == "/v1/messages/count_tokens")
            // The same body sent as a message reports the same input tokens.
            let message = try await gateway.client.post(
                "/v1/messages",
                json:
                    #"{"model":"claude","max_tokens":16,"messages":[{"role":"user","content":"How many tokens is this?"}]}"#
            )
            #expect((try message.json()["usage"] as? [String: Any])?["input_tokens"] as? Int == exact)

            let estimated = try await gateway.client.post(
                "/v1/messages/count_tokens",
                json:
                    #"{"model":"smart","system":"Be terse.","messages":[{"role":"user","content":"How many tokens is this?"}]}"#
            )
            #expect(estimated.status == 200, "\(estimated.text)")
            #expect(estimated.header("x-llmgw-token-count") == "estimate")
            #expect((try estimated.json()["input_tokens"] as? Int ?? 0) > 5)
        }
    }

    struct Event {
        var name: String
        var data: [String: Any]
    }

    static func events(_ text: String) -> [Event] {
        text.components(separatedBy: "\n\n").compactMap { block -> Event? in
            var name: String?
            var data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data += line.dropFirst(6) }
            }
            guard let name, let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
            else { return nil }
            return Event(name: name, data: object)
        }
    }
}

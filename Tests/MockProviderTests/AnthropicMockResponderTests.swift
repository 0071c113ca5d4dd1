import Foundation
import GatewayTesting
import MockProvider
import Testing

/// The Anthropic dialect over a real socket: shapes, the event sequence, tools, strictness, auth, faults.
@Suite(.timeLimit(.minutes(1))) struct AnthropicMockResponderTests {
    static let auth = [("x-api-key", "sk-test"), ("anthropic-version", "2023-06-01")]
    static let tools =
        #","tools":[{"name":"get_weather","description":"Current weather","input_schema":{"type":"object","#
        + #""properties":{"city":{"type":"string"}},"required":["city"]}}]"#

    static func body(
        _ text: String = "Hello there", model: String = "claude-sonnet-4-5", stream: Bool = false, extra: String = ""
    ) -> String {
        #"{"model":"\#(model)","max_tokens":256,"messages":[{"role":"user","content":"\#(text)"}]"#
            + (stream ? #","stream":true"# : "") + extra + "}"
    }

    static func post(
        _ mock: MockProviderServer, _ body: String, path: String = "/v1/messages",
        headers: [(String, String)] = auth
    ) async throws -> HTTPResponse {
        try await exchange(mock, "POST", path, body: body, key: nil, headers: headers)
    }

    static func errorType(_ response: HTTPResponse) throws -> (type: String?, message: String) {
        let json = try response.json()
        #expect(json["type"] as? String == "error")
        #expect((json["request_id"] as? String)?.hasPrefix("req_") == true)
        #expect(json["request_id"] as? String == response.header("request-id"))
        let error = try #require(json["error"] as? [String: Any])
        return (error["type"] as? String, error["message"] as? String ?? "")
    }

    @Test func nonStreamMessageHasTheCapturedShapeAndKeyOrder() async throws {
        try await withDialectMock(.anthropic) { mock in
            #expect(mock.baseURL == "http://127.0.0.1:\(mock.port ?? 0)")
            let response = try await Self.post(mock, Self.body("What is up"))
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            #expect(response.header("request-id")?.hasPrefix("req_") == true)
            for kind in ["requests", "tokens", "input-tokens", "output-tokens"] {
                #expect(response.header("anthropic-ratelimit-\(kind)-limit") != nil)
                #expect(response.header("anthropic-ratelimit-\(kind)-reset")?.hasSuffix("Z") == true)
            }
            let text = response.text
            #expect(text.hasPrefix(#"{"model":"claude-sonnet-4-5","id":"msg_01"#))
            let order = [
                "\"id\"", "\"type\":\"message\"", "\"role\"", "\"content\"", "\"stop_reason\"",
                "\"stop_sequence\"", "\"usage\"",
            ].map { offset(of: $0, in: text) }
            #expect(order == order.sorted() && !order.contains(-1))
            let json = try response.json()
            let content = try #require(json["content"] as? [[String: Any]])
            #expect(content.count == 1)
            #expect(content[0]["type"] as? String == "text")
            #expect(content[0]["text"] as? String == "Hello! You said: What is up")
            #expect(json["stop_reason"] as? String == "end_turn")
            #expect(json["stop_sequence"] is NSNull)
            let usage = try #require(json["usage"] as? [String: Any])
            #expect((usage["input_tokens"] as? Int ?? 0) > 0)
            #expect(usage["output_tokens"] as? Int == 6)
            #expect(usage["cache_read_input_tokens"] as? Int == 0)
            #expect(usage["service_tier"] as? String == "standard")

            let short = try await Self.post(
                mock, Self.body("one two three four").replacingOccurrences(of: "256", with: "2"))
            #expect(try short.json()["stop_reason"] as? String == "max_tokens")
        }
    }

    @Test func streamIsTheFullNamedEventSequence() async throws {
        try await withDialectMock(.anthropic) { mock in
            let response = try await Self.post(mock, Self.body("Stream me please", stream: true))
            #expect(response.status == 200)
            #expect(response.header("content-type")?.hasPrefix("text/event-stream") == true)
            #expect(response.chunked && response.ending == .complete)
            let text = response.text
            #expect(text.hasPrefix("event: message_start\ndata: {"))
            #expect(text.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
            #expect(!text.contains("\r"))
            let events = namedEvents(text)
            #expect(text.components(separatedBy: "\n\n").dropLast().allSatisfy { $0.split(separator: "\n").count == 2 })
            for event in events {
                #expect(try parse(event.data)["type"] as? String == event.name)
            }
            let names = events.map(\.name)
            #expect(Array(names.prefix(3)) == ["message_start", "content_block_start", "ping"])
            #expect(Array(names.suffix(3)) == ["content_block_stop", "message_delta", "message_stop"])
            #expect(events[2].data == #"{"type": "ping"}"#)
            let start = try parse(events[0].data)["message"] as? [String: Any]
            #expect((start?["content"] as? [Any])?.isEmpty == true)
            #expect(start?["stop_reason"] is NSNull)
            #expect(((start?["usage"] as? [String: Any])?["input_tokens"] as? Int ?? 0) > 0)
            let deltas = try events.filter { $0.name == "content_block_delta" }.map { try parse($0.data) }
            #expect(deltas.count >= 3)
            let texts = deltas.compactMap { ($0["delta"] as? [String: Any])?["text"] as? String }
            #expect(texts.joined() == "Hello! You said: Stream me please")
            let final = try parse(events[events.count - 2].data)
            #expect((final["delta"] as? [String: Any])?["stop_reason"] as? String == "end_turn")
            #expect((final["usage"] as? [String: Any])?["output_tokens"] as? Int == 6)
        }
    }

    @Test func toolUseRoundTripInBothShapes() async throws {
        try await withDialectMock(.anthropic) { mock in
            let call = try await Self.post(mock, Self.body("Weather in Paris?", extra: Self.tools))
            let json = try call.json()
            #expect(json["stop_reason"] as? String == "tool_use")
            let block = try #require((json["content"] as? [[String: Any]])?.first)
            #expect(block["type"] as? String == "tool_use")
            #expect(block["name"] as? String == "get_weather")
            #expect((block["id"] as? String)?.hasPrefix("toolu_") == true)
            #expect((block["input"] as? [String: Any])?["city"] as? String == "Paris")

            let stream = try await Self.post(mock, Self.body("Weather?", stream: true, extra: Self.tools))
            let events = namedEvents(stream.text)
            let started = try parse(events[1].data)["content_block"] as? [String: Any]
            #expect(started?["type"] as? String == "tool_use")
            #expect((started?["input"] as? [String: Any])?.isEmpty == true)
            let partials = try events.filter { $0.name == "content_block_delta" }.map {
                try #require((try parse($0.data)["delta"] as? [String: Any])?["partial_json"] as? String)
            }
            #expect(partials.count >= 3 && partials.first == "")
            #expect(partials.joined() == #"{"city":"Paris"}"#)

            let id = try #require(block["id"] as? String)
            let followUp =
                #"{"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user","content":"Weather?"},"#
                + #"{"role":"assistant","content":[{"type":"tool_use","id":"\#(id)","name":"get_weather","#
                + #""input":{"city":"Paris"}}]},{"role":"user","content":[{"type":"tool_result","#
                + #""tool_use_id":"\#(id)","content":"18C, cloudy"}]}]"# + Self.tools + "}"
            let answer = try await Self.post(mock, followUp)
            #expect(answer.status == 200)
            let content = try #require((try answer.json()["content"] as? [[String: Any]])?.first)
            #expect(content["text"] as? String == "Tool result received: 18C, cloudy")
        }
    }

    @Test func thinkingStreamsThinkingThenSignatureBeforeTheBlockStops() async throws {
        try await withDialectMock(.anthropic) { mock in
            let body = Self.body(
                "Think", stream: true, extra: #","thinking":{"type":"enabled","budget_tokens":1024}"#
            ).replacingOccurrences(of: "256", with: "2048")
            let events = namedEvents(try await Self.post(mock, body).text)
            let first = try parse(events[1].data)["content_block"] as? [String: Any]
            #expect(first?["type"] as? String == "thinking")
            let stopIndex = try #require(events.firstIndex { $0.name == "content_block_stop" })
            let signature = try parse(events[stopIndex - 1].data)["delta"] as? [String: Any]
            #expect(signature?["type"] as? String == "signature_delta")
            #expect((signature?["signature"] as? String)?.isEmpty == false)
            #expect(events.contains { $0.data.contains("thinking_delta") })
        }
    }

    @Test func countTokensAndModels() async throws {
        try await withDialectMock(.anthropic) { mock in
            let count = try await Self.post(
                mock, #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi there"}]}"#,
                path: "/v1/messages/count_tokens"
            )
            #expect(count.status == 200)
            #expect(try count.json().keys.sorted() == ["input_tokens"])
            let models = try await exchange(mock, "GET", "/v1/models", key: nil, headers: Self.auth)
            let data = try #require(try models.json()["data"] as? [[String: Any]])
            #expect(data.first?["type"] as? String == "model")
            #expect(try models.json()["has_more"] as? Bool == false)
        }
    }
}

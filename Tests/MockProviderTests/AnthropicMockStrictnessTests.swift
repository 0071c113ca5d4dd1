import Foundation
import MockProvider
import Testing

/// What the real Messages API rejects, the mock rejects, in Anthropic's error shape.
@Suite(.timeLimit(.minutes(1))) struct AnthropicMockStrictnessTests {
    static let user = #"{"role":"user","content":"Hi"}"#
    static let useBlock =
        #"{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}]}"#

    static func messages(_ list: String, extra: String = "") -> String {
        #"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[\#(list)]\#(extra)}"#
    }

    static let rejected: [(body: String, message: String)] = [
        (#"{"model":"claude-sonnet-4-5","messages":[\#(user)]}"#, "max_tokens: Field required"),
        (#"{"max_tokens":5,"messages":[\#(user)]}"#, "model: Field required"),
        (messages(""), "at least one message"),
        (messages(#"{"role":"system","content":"Be terse"},\#(user)"#), "Unexpected role \"system\""),
        (messages(#"{"role":"tool","content":"x"}"#), "Input should be 'user' or 'assistant'"),
        (messages(#"{"role":"assistant","content":"Hi"},\#(user)"#), "first message must use the \"user\" role"),
        (messages("\(user),\(user)"), "roles must alternate"),
        (messages("\(user),\(useBlock)"), "`tool_use` ids were found without `tool_result`"),
        (messages("\(user),\(useBlock),\(user)"), "`tool_use` ids were found without `tool_result`"),
        (
            messages(
                #"\#(user),{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"tool_result","#
                    + #""tool_use_id":"toolu_9","content":"x"}]}"#
            ), "unexpected `tool_use_id`"
        ),
        (
            messages(
                #"\#(user),\#(useBlock),{"role":"user","content":[{"type":"text","text":"and"},"#
                    + #"{"type":"tool_result","tool_use_id":"toolu_1","content":"x"}]}"#
            ), "tool_result blocks must come before"
        ),
        (
            messages(
                #"\#(user),{"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":"{}"}]}"#),
            "input: Input should be a valid dictionary"
        ),
        (
            messages(#"{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:x"}}]}"#),
            "does not match any of the expected tags"
        ),
        (
            messages(
                #"{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/bmp","#
                    + #""data":"iVBORw0KGgo="}}]}"#
            ), "media_type"
        ),
        (messages(#"{"role":"user","content":""}"#), "non-empty content"),
        (messages(user, extra: #","tools":[{"name":"f","parameters":{"type":"object"}}]"#), "Extra inputs"),
        (messages(user, extra: #","tools":[{"name":"f"}]"#), "tools.0.input_schema: Field required"),
        (messages(user, extra: #","tool_choice":{"type":"auto"}"#), "only be specified while providing tools"),
        (messages(user, extra: #","stream_options":{"include_usage":true}"#), "stream_options: Extra inputs"),
        (messages(user, extra: #","system":[{"type":"image"}]"#), "system.0.type"),
        (messages(user, extra: #","thinking":{"type":"enabled","budget_tokens":100}"#), "budget_tokens"),
        ("not json", "parsing the body"),
    ]

    @Test(arguments: rejected.indices)
    func invalidRequestsGet400InvalidRequestError(index: Int) async throws {
        let (body, message) = Self.rejected[index]
        try await withDialectMock(.anthropic) { mock in
            let response = try await AnthropicMockResponderTests.post(mock, body)
            #expect(response.status == 400, "\(body)")
            let error = try AnthropicMockResponderTests.errorType(response)
            #expect(error.type == "invalid_request_error")
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func validConversationWithImagesThinkingAndToolsPasses() async throws {
        let body = Self.messages(
            #"{"role":"user","content":[{"type":"text","text":"Weather?"},{"type":"image","source":{"type":"base64","#
                + #""media_type":"image/png","data":"iVBORw0KGgo="}}]},{"role":"assistant","content":["#
                + #"{"type":"thinking","thinking":"Need the tool.","signature":"EqQB"},{"type":"tool_use","#
                + #""id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}]},{"role":"user","content":["#
                + #"{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"18C"}]},"#
                + #"{"type":"text","text":"thanks"}]}"#,
            extra: #","system":"Be terse","temperature":0.2"#
        )
        try await withDialectMock(.anthropic) { mock in
            let response = try await AnthropicMockResponderTests.post(mock, body)
            #expect(response.status == 200, "\(response.text)")
        }
    }

    @Test func authenticationAndVersionHeaders() async throws {
        try await withDialectMock(.anthropic) { mock in
            let body = AnthropicMockResponderTests.body()
            let missing = try await AnthropicMockResponderTests.post(
                mock, body, headers: [("anthropic-version", "2023-06-01")])
            #expect(missing.status == 401)
            #expect(try AnthropicMockResponderTests.errorType(missing).type == "authentication_error")
            let bearer = try await AnthropicMockResponderTests.post(
                mock, body, headers: [("authorization", "Bearer sk-test"), ("anthropic-version", "2023-06-01")])
            #expect(bearer.status == 401)
            let wrong = try await AnthropicMockResponderTests.post(
                mock, body, headers: [("x-api-key", "sk-nope"), ("anthropic-version", "2023-06-01")])
            #expect(wrong.status == 401)
            #expect(try AnthropicMockResponderTests.errorType(wrong).message == "invalid x-api-key")
            let noVersion = try await AnthropicMockResponderTests.post(mock, body, headers: [("x-api-key", "sk-test")])
            #expect(noVersion.status == 400)
            #expect(try AnthropicMockResponderTests.errorType(noVersion).message.contains("anthropic-version"))
            let unknownModel = try await AnthropicMockResponderTests.post(
                mock, AnthropicMockResponderTests.body(model: "gpt-4o"))
            #expect(unknownModel.status == 404)
            #expect(try AnthropicMockResponderTests.errorType(unknownModel).type == "not_found_error")
        }
    }

    @Test func faultsUseAnthropicShapes() async throws {
        try await withDialectMock(.anthropic, faults: "status=529x1") { mock in
            let overloaded = try await AnthropicMockResponderTests.post(mock, AnthropicMockResponderTests.body())
            #expect(overloaded.status == 529)
            #expect(try AnthropicMockResponderTests.errorType(overloaded).type == "overloaded_error")
            let limited = try await AnthropicMockResponderTests.post(
                mock, AnthropicMockResponderTests.body(model: "claude-sonnet-4-5#status=429x1;retry_after=2"))
            #expect(limited.status == 429)
            #expect(limited.header("retry-after") == "2")
            #expect(try AnthropicMockResponderTests.errorType(limited).type == "rate_limit_error")

            let stream = AnthropicMockResponderTests.body(stream: true)
            let cut = try await AnthropicMockResponderTests.post(
                mock, stream.replacingOccurrences(of: "claude-sonnet-4-5", with: "claude-sonnet-4-5#cut=3"))
            #expect(cut.ending == .closed)
            #expect(namedEvents(cut.text).map(\.name) == ["message_start", "content_block_start", "ping"])
            let failed = try await AnthropicMockResponderTests.post(
                mock, stream.replacingOccurrences(of: "claude-sonnet-4-5", with: "claude-sonnet-4-5#error_event=4"))
            #expect(failed.ending == .complete)
            let events = namedEvents(failed.text)
            #expect(events.count == 5 && events.last?.name == "error")
            #expect(!failed.text.contains("message_stop"))
            let error = try parse(events.last?.data ?? "")["error"] as? [String: Any]
            #expect(error?["type"] as? String == "overloaded_error")
        }
    }
}

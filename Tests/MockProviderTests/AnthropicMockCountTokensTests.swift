import Foundation
import GatewayTesting
import MockProvider
import Testing

/// `POST /v1/messages/count_tokens` on the strict Anthropic mock: the count `/v1/messages` reports,
/// the same headers and validation, and only the count_tokens fields.
@Suite(.timeLimit(.minutes(1))) struct AnthropicMockCountTokensTests {
    static let path = "/v1/messages/count_tokens"

    /// Conversations (the body's fields after `model`, without `max_tokens`).
    static let conversations: [String] = [
        #""messages":[{"role":"user","content":"Hello there"}]"#,
        #""system":"You are terse.","messages":[{"role":"user","content":"Weather in Paris and Rome, please?"}]"#,
        #""system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],"#
            + #""messages":[{"role":"user","content":[{"type":"text","text":"Weather?"}]},"#
            + #"{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"get_weather","#
            + #""input":{"city":"Paris"}}]},{"role":"user","content":[{"type":"tool_result","#
            + #""tool_use_id":"toolu_1","content":"18C, cloudy"}]}]"# + AnthropicMockResponderTests.tools,
        #""thinking":{"type":"enabled","budget_tokens":1024},"#
            + #""messages":[{"role":"user","content":"Think about a long answer to this one"}]"#,
    ]

    static func post(
        _ mock: MockProviderServer, _ body: String, headers: [(String, String)] = AnthropicMockResponderTests.auth
    )
        async throws -> HTTPResponse
    {
        try await AnthropicMockResponderTests.post(mock, body, path: path, headers: headers)
    }

    @Test(arguments: conversations.indices)
    func theCountIsTheInputTokensOfTheSameMessagesCall(index: Int) async throws {
        let conversation = Self.conversations[index]
        try await withDialectMock(.anthropic) { mock in
            let count = try await Self.post(mock, #"{"model":"claude-sonnet-4-5","# + conversation + "}")
            #expect(count.status == 200)
            #expect(count.header("content-type") == "application/json")
            #expect(count.header("request-id")?.hasPrefix("req_") == true)
            let json = try count.json()
            #expect(json.keys.sorted() == ["input_tokens"])
            let counted = try #require(json["input_tokens"] as? Int)
            #expect(counted > 0)

            let message = try await AnthropicMockResponderTests.post(
                mock, #"{"model":"claude-sonnet-4-5","max_tokens":2048,"# + conversation + "}")
            #expect(message.status == 200)
            let usage = try #require(try message.json()["usage"] as? [String: Any])
            #expect(usage["input_tokens"] as? Int == counted)

            let again = try await Self.post(mock, #"{"model":"claude-sonnet-4-5","# + conversation + "}")
            #expect(try again.json()["input_tokens"] as? Int == counted)
        }
    }

    @Test func moreTextCountsMoreTokens() async throws {
        try await withDialectMock(.anthropic) { mock in
            func count(_ text: String) async throws -> Int {
                let body = #"{"model":"claude-haiku-4-5","messages":[{"role":"user","content":"\#(text)"}]}"#
                return try #require(try await Self.post(mock, body).json()["input_tokens"] as? Int)
            }
            let short = try await count("Hi")
            let long = try await count(String(repeating: "many more words here ", count: 20))
            #expect(long > short)
        }
    }

    @Test(arguments: [
        #""max_tokens":256"#, #""stream":false"#, #""temperature":0.2"#, #""metadata":{"user_id":"u"}"#,
        #""stop_sequences":["x"]"#, #""stream_options":{"include_usage":true}"#,
    ])
    func messagesOnlyFieldsAreExtraInputs(field: String) async throws {
        try await withDialectMock(.anthropic) { mock in
            let body = #"{"model":"claude-sonnet-4-5",\#(field),"messages":[{"role":"user","content":"Hi"}]}"#
            let response = try await Self.post(mock, body)
            #expect(response.status == 400)
            let error = try AnthropicMockResponderTests.errorType(response)
            #expect(error.type == "invalid_request_error")
            let name = String(field.dropFirst().prefix { $0 != "\"" })
            #expect(error.message == "\(name): Extra inputs are not permitted")
        }
    }

    @Test(arguments: [
        (#"{"messages":[{"role":"user","content":"Hi"}]}"#, "model: Field required"),
        (#"{"model":"claude-sonnet-4-5"}"#, "messages: Field required"),
        (#"{"model":"claude-sonnet-4-5","messages":[]}"#, "at least one message"),
        (
            #"{"model":"claude-sonnet-4-5","messages":[{"role":"system","content":"x"},"#
                + #"{"role":"user","content":"Hi"}]}"#,
            "Unexpected role \"system\""
        ),
        (
            #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}"#,
            "roles must alternate"
        ),
        (#"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":""}]}"#, "non-empty content"),
        (
            #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"tool_choice":{"type":"auto"}}"#,
            "only be specified while providing tools"
        ),
        (
            #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}],"#
                + #""thinking":{"type":"enabled","budget_tokens":100}}"#,
            "budget_tokens"
        ),
        ("not json", "parsing the body"),
    ])
    func messagesValidationApplies(body: String, message: String) async throws {
        try await withDialectMock(.anthropic) { mock in
            let response = try await Self.post(mock, body)
            #expect(response.status == 400, "\(body)")
            let error = try AnthropicMockResponderTests.errorType(response)
            #expect(error.type == "invalid_request_error")
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func anUnknownModelIsNotFound() async throws {
        try await withDialectMock(.anthropic) { mock in
            let response = try await Self.post(mock, #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hi"}]}"#)
            #expect(response.status == 404)
            #expect(try AnthropicMockResponderTests.errorType(response).type == "not_found_error")
        }
    }

    @Test func theHeadersAreCheckedAsForMessages() async throws {
        let body = #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}"#
        try await withDialectMock(.anthropic) { mock in
            let missingKey = try await Self.post(mock, body, headers: [("anthropic-version", "2023-06-01")])
            #expect(missingKey.status == 401)
            #expect(try AnthropicMockResponderTests.errorType(missingKey).type == "authentication_error")
            let wrongKey = try await Self.post(
                mock, body, headers: [("x-api-key", "sk-wrong"), ("anthropic-version", "2023-06-01")])
            #expect(wrongKey.status == 401)
            let noVersion = try await Self.post(mock, body, headers: [("x-api-key", "sk-test")])
            #expect(noVersion.status == 400)
            #expect(try AnthropicMockResponderTests.errorType(noVersion).message.contains("anthropic-version"))
        }
    }

    @Test func countedInTheStatsAndOpenToFaults() async throws {
        try await withDialectMock(.anthropic) { mock in
            let body = #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"Hi"}]}"#
            _ = try await Self.post(mock, body)
            _ = try await Self.post(mock, #"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}"#)
            let faulted = try await Self.post(
                mock, #"{"model":"claude-sonnet-4-5#status=429","messages":[{"role":"user","content":"Hi"}]}"#)
            #expect(faulted.status == 429)
            #expect(try AnthropicMockResponderTests.errorType(faulted).type == "rate_limit_error")
            #expect(mock.stats.requestsByPath[Self.path] == 3)
            #expect(mock.stats.faultsInjected == 1)
        }
    }
}

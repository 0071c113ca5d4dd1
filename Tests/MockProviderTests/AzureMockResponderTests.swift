import Foundation
import GatewayTesting
import MockProvider
import Testing

/// The Azure dialect over a real socket: URLs, `api-key`, filter annotations, both error shapes, faults.
@Suite(.timeLimit(.minutes(1))) struct AzureMockResponderTests {
    static let auth = [("api-key", "sk-test")]
    static let path = "/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
    static let tools =
        #","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","#
        + #""properties":{"city":{"type":"string"}}}}}]"#

    static func post(
        _ mock: MockProviderServer, _ body: String, path: String = path, headers: [(String, String)] = auth
    ) async throws -> HTTPResponse {
        try await exchange(mock, "POST", path, body: body, key: nil, headers: headers)
    }

    static func body(_ text: String = "Hello there", stream: Bool = false, extra: String = "") -> String {
        #"{"messages":[{"role":"user","content":"\#(text)"}]"# + (stream ? #","stream":true"# : "") + extra + "}"
    }

    static func gatewayError(_ response: HTTPResponse) throws -> (code: String?, message: String) {
        let error = try #require(try response.json()["error"] as? [String: Any])
        #expect(error["type"] == nil && error["param"] == nil)
        return (error["code"] as? String, error["message"] as? String ?? "")
    }

    @Test func nonStreamHasFilterAnnotationsAndAlphabeticalKeys() async throws {
        try await withDialectMock(.azure) { mock in
            #expect(mock.baseURL == "http://127.0.0.1:\(mock.port ?? 0)")
            let response = try await Self.post(mock, Self.body("What is up"))
            #expect(response.status == 200)
            #expect(response.header("apim-request-id") != nil)
            #expect(response.header("x-ratelimit-remaining-requests") != nil)
            let text = response.text
            let order = [
                "\"choices\"", "\"created\"", "\"id\"", "\"model\"", "\"object\"", "\"prompt_filter_results\"",
                "\"system_fingerprint\"", "\"usage\"",
            ].map { offset(of: $0, in: text) }
            #expect(!order.contains(-1))
            let json = try response.json()
            #expect(json["model"] as? String == "gpt-4o-prod")
            #expect(json["object"] as? String == "chat.completion")
            let prompt = try #require((json["prompt_filter_results"] as? [[String: Any]])?.first)
            #expect(prompt["prompt_index"] as? Int == 0)
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            let filter = try #require(choice["content_filter_results"] as? [String: Any])
            #expect((filter["hate"] as? [String: Any])?["severity"] as? String == "safe")
            #expect((choice["message"] as? [String: Any])?["content"] as? String == "Hello! You said: What is up")
            #expect((json["usage"] as? [String: Any])?["total_tokens"] is Int)

            let v1 = try await Self.post(
                mock, #"{"model":"my-deployment","messages":[{"role":"user","content":"Hi"}]}"#,
                path: "/openai/v1/chat/completions")
            #expect(v1.status == 200)
            #expect(try v1.json()["model"] as? String == "my-deployment")
        }
    }

    @Test func streamStartsWithTheAnnotationChunk() async throws {
        try await withDialectMock(.azure) { mock in
            let response = try await Self.post(mock, Self.body("Stream me please", stream: true))
            #expect(response.status == 200)
            let text = response.text
            #expect(text.hasPrefix(#"data: {"choices":[],"created":0,"id":"","model":"","object":"","#))
            #expect(text.hasSuffix("data: [DONE]\n\n"))
            let payloads = events(text)
            let chunks = try payloads.dropLast().map(parse)
            #expect(chunks[0]["prompt_filter_results"] is [Any])
            let choices = chunks.dropFirst().compactMap { ($0["choices"] as? [[String: Any]])?.first }
            #expect(choices.count == chunks.count - 1)
            #expect(choices.allSatisfy { $0["content_filter_results"] is [String: Any] })
            #expect((choices.first?["content_filter_results"] as? [String: Any])?.isEmpty == true)
            #expect((choices[1]["content_filter_results"] as? [String: Any])?["hate"] != nil)
            let content = choices.compactMap { ($0["delta"] as? [String: Any])?["content"] as? String }
            #expect(content.joined() == "Hello! You said: Stream me please")
            #expect(choices.last?["finish_reason"] as? String == "stop")
        }
    }

    @Test func toolCallRoundTrip() async throws {
        try await withDialectMock(.azure) { mock in
            let call = try await Self.post(mock, Self.body("Weather?", extra: Self.tools))
            let choice = try #require((try call.json()["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "tool_calls")
            let toolCall = try #require(
                ((choice["message"] as? [String: Any])?["tool_calls"] as? [[String: Any]])?.first)
            #expect((toolCall["function"] as? [String: Any])?["arguments"] as? String == #"{"city":"Paris"}"#)
            let followUp =
                #"{"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":null,"#
                + #""tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","#
                + #""arguments":"{}"}}]},{"role":"tool","tool_call_id":"call_1","content":"18C, cloudy"}]"#
                + Self.tools + "}"
            let answer = try await Self.post(mock, followUp)
            #expect(answer.text.contains("Tool result received: 18C, cloudy"))
        }
    }

    @Test func contentFilters() async throws {
        try await withDialectMock(.azure) { mock in
            let blocked = try await Self.post(mock, Self.body("please BLOCKME"))
            #expect(blocked.status == 400)
            let error = try #require(try blocked.json()["error"] as? [String: Any])
            #expect(error["code"] as? String == "content_filter")
            #expect(error["param"] as? String == "prompt")
            #expect(error["status"] as? Int == 400)
            #expect((error["innererror"] as? [String: Any])?["code"] as? String == "ResponsibleAIPolicyViolation")
            let unsafe = try await Self.post(mock, Self.body("something UNSAFE"))
            let choice = try #require((try unsafe.json()["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "content_filter")
        }
    }

    @Test func urlsAuthAndErrorShapes() async throws {
        try await withDialectMock(.azure) { mock in
            let body = Self.body()
            let noVersion = try await Self.post(mock, body, path: "/openai/deployments/gpt-4o/chat/completions")
            #expect(noVersion.status == 404)
            #expect(try Self.gatewayError(noVersion).code == "404")
            let wrongPath = try await Self.post(mock, body, path: "/v1/chat/completions")
            #expect(wrongPath.status == 404)
            let missing = try await Self.post(mock, body, headers: [])
            #expect(missing.status == 401)
            #expect(try Self.gatewayError(missing).code == "401")
            let bearer = try await Self.post(mock, body, headers: [("authorization", "Bearer sk-test")])
            #expect(bearer.status == 401)
            let wrong = try await Self.post(mock, body, headers: [("api-key", "nope")])
            #expect(wrong.status == 401)
            let empty = try await Self.post(mock, #"{"messages":[]}"#)
            #expect(empty.status == 400)
            #expect((try empty.json()["error"] as? [String: Any])?["code"] as? String == "empty_array")
            let v1NoModel = try await Self.post(mock, body, path: "/openai/v1/chat/completions")
            #expect(v1NoModel.status == 400)
        }
    }

    @Test func faultsUseAzureShapes() async throws {
        try await withDialectMock(.azure) { mock in
            let limited = try await Self.post(
                mock, Self.body(), path: "/openai/deployments/gpt-4o%23status=429x1/chat/completions?api-version=1")
            #expect(limited.status == 429)
            #expect(try Self.gatewayError(limited).code == "429")
            #expect(limited.header("retry-after-ms") == "1000")
            let missing = try await Self.post(
                mock, Self.body(), path: "/openai/deployments/gpt-4o%23status=404/chat/completions?api-version=1")
            #expect(try Self.gatewayError(missing).code == "DeploymentNotFound")
            let cut = try await Self.post(
                mock, Self.body(stream: true),
                path: "/openai/deployments/gpt-4o%23cut=1/chat/completions?api-version=1")
            #expect(cut.ending == .closed)
            #expect(events(cut.text).count == 1)
            let failed = try await Self.post(
                mock, #"{"model":"gpt-4o#error_event=3","stream":true,"messages":[{"role":"user","content":"Hi"}]}"#,
                path: "/openai/v1/chat/completions")
            let payloads = events(failed.text)
            #expect(payloads.count == 4 && payloads.last?.hasPrefix(#"{"error":"#) == true)
            #expect(!failed.text.contains("[DONE]"))
        }
    }
}

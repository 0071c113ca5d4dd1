import Foundation
import GatewayCore
import Testing

@testable import Dialects

@Suite struct AnthropicProviderCodecTests {
    private let provider = ProviderConfiguration(name: "claude", kind: .anthropic, baseURL: "https://api.anthropic.com")

    private func translate(_ fixture: String) throws -> [UInt8] {
        let canonical = try OpenAIChatRequestDecoder.decode(try Fixture.bytes(fixture))
        return try AnthropicMessagesRequestEncoder.encode(canonical, defaultMaxTokens: 4096)
    }

    @Test(arguments: [
        ("openai/chat_request.json", "anthropic/messages_request_from_openai.json"),
        ("openai/chat_request_parallel_tools.json", "anthropic/messages_request_parallel_tools.json"),
    ])
    func translatesOpenAIRequests(openAI: String, anthropic: String) throws {
        let body = try translate(openAI)
        #expect(try JSONComparison.normalized(body) == JSONComparison.normalized(try Fixture.bytes(anthropic)))
    }

    @Test func buildsTheUpstreamRequest() throws {
        let canonical = CanonicalRequest(
            model: "claude-haiku-4-5", messages: [.init(role: .user, content: [.text("Hi")])])
        let request = try AnthropicProviderCodec.request(
            canonical,
            provider: provider,
            apiKey: "test-anthropic-key",
            timeouts: TimeoutConfiguration(),
            version: "2024-01-01",
            defaultMaxTokens: 1000
        )
        #expect(request.url == "https://api.anthropic.com/v1/messages")
        let headers = Dictionary(uniqueKeysWithValues: request.headers.map { ($0.name, $0.value) })
        #expect(headers["x-api-key"] == "test-anthropic-key")
        #expect(headers["anthropic-version"] == "2024-01-01")
        #expect(headers["content-type"] == "application/json")
        let expected =
            #"{"model":"claude-haiku-4-5","max_tokens":1000,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}"#
        #expect(try JSONComparison.normalized(request.body) == JSONComparison.normalized(Array(expected.utf8)))
    }

    @Test(arguments: [
        ("https://api.anthropic.com", "https://api.anthropic.com/v1/messages"),
        ("https://api.anthropic.com/", "https://api.anthropic.com/v1/messages"),
        ("http://localhost/v1", "http://localhost/v1/messages"),
    ])
    func joinsTheMessagesPath(base: String, url: String) {
        #expect(AnthropicProviderCodec.messagesURL(baseURL: base) == url)
    }

    @Test func refusesArgumentsThatAreNotAnObject() {
        let call = CanonicalToolCall(id: "call_1", name: "f", arguments: "{\"city\":")
        let request = CanonicalRequest(model: "m", messages: [.init(role: .assistant, content: [.toolCall(call)])])
        #expect(throws: GatewayError.self) {
            try AnthropicMessagesRequestEncoder.encode(request, defaultMaxTokens: 100)
        }
    }

    @Test func refusesSeveralChoices() {
        let request = CanonicalRequest(model: "m", sampling: CanonicalSampling(choiceCount: 2))
        #expect(throws: GatewayError.self) {
            try AnthropicMessagesRequestEncoder.encode(request, defaultMaxTokens: 100)
        }
    }

    @Test func sendsThinkingAndDropsSamplingWithIt() throws {
        var request = CanonicalRequest(model: "m", messages: [.init(role: .user, content: [.text("Hi")])])
        request.thinking = .budget(2048)
        request.sampling.temperature = 0.3
        request.messages.append(
            .init(
                role: .assistant,
                content: [.thinking(text: "hmm", signature: "sig"), .thinking(text: "x", signature: nil)])
        )
        let body = try AnthropicMessagesRequestEncoder.encode(request, defaultMaxTokens: 1024)
        let root = try #require(FoundationJSON.object(body))
        #expect(root["max_tokens"] as? Int == 2048 + 1024)
        #expect((root["thinking"] as? [String: Any])?["budget_tokens"] as? Int == 2048)
        #expect(root["temperature"] == nil)
        let messages = try #require(root["messages"] as? [[String: Any]])
        let blocks = try #require(messages.last?["content"] as? [[String: Any]])
        #expect(blocks.count == 1)
        #expect(blocks.first?["signature"] as? String == "sig")
    }

    @Test(arguments: [("low", 1024), ("medium", 4096), ("high", 16384)])
    func mapsReasoningEffortToBudgets(effort: String, budget: Int) {
        #expect(AnthropicMessagesRequestEncoder.budget(.effort(effort), maxTokens: nil) == budget)
        #expect(AnthropicMessagesRequestEncoder.budget(.effort(effort), maxTokens: 2000) == min(budget, 1999))
        #expect(AnthropicMessagesRequestEncoder.budget(.effort(effort), maxTokens: 800) == nil)
    }

    @Test func parsesANonStreamResponse() throws {
        let response = try AnthropicProviderCodec.response(try Fixture.bytes("anthropic/message_response.json"))
        #expect(response.stopReason == .toolCalls)
        #expect(response.usage == TokenUsage(promptTokens: 2520, completionTokens: 89, cachedPromptTokens: 2048))
        #expect(
            response.toolCalls == [
                CanonicalToolCall(id: "toolu_01B", name: "get_weather", arguments: #"{"city":"Rome"}"#)
            ])
        let body = OpenAIChatResponseEncoder.encode(response, created: 1_735_689_600)
        let expected = try Fixture.bytes("openai/chat_response_from_anthropic.json")
        #expect(
            try JSONComparison.normalized(body, ignoring: ["id", "created"])
                == JSONComparison.normalized(expected, ignoring: ["id", "created"])
        )
    }

    @Test(arguments: [
        ("end_turn", CanonicalStopReason.stop), ("stop_sequence", .stop), ("max_tokens", .length),
        ("model_context_window_exceeded", .length), ("tool_use", .toolCalls), ("refusal", .contentFilter),
        ("pause_turn", .pauseTurn),
    ])
    func mapsStopReasons(anthropic: String, canonical: CanonicalStopReason) {
        #expect(AnthropicMessagesResponseDecoder.stopReason(anthropic) == canonical)
    }

    @Test func mapsStopReasonsToOpenAIFinishReasons() {
        #expect(CanonicalStopReason.pauseTurn.openAIFinishReason == "stop")
        #expect(CanonicalStopReason.toolCalls.openAIFinishReason == "tool_calls")
        #expect(CanonicalStopReason.contentFilter.openAIFinishReason == "content_filter")
        #expect(CanonicalStopReason(openAIFinishReason: "length") == .length)
    }

    @Test func toolUseInputKeepsMemberOrderAndNumberText() throws {
        let arguments = #"{"zeta":1.0,"alpha":12345678901234567890,"nested":{"b":true,"a":[null,-0.5e+10]}}"#
        let body =
            #"{"type":"message","id":"msg_1","model":"m","content":["#
            + #"{"type":"tool_use","id":"toolu_1","name":"f","input":"# + arguments + #"}],"stop_reason":"tool_use"}"#
        let response = try AnthropicProviderCodec.response(Array(body.utf8))
        #expect(response.content == [.toolCall(CanonicalToolCall(id: "toolu_1", name: "f", arguments: arguments))])
    }
}

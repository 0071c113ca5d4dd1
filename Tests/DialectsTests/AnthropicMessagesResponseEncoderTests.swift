import Foundation
import GatewayCore
import Testing

@testable import Dialects

@Suite struct AnthropicMessagesResponseEncoderTests {
    private func encoded(_ response: CanonicalResponse, model: String? = nil) throws -> [String: Any] {
        try #require(FoundationJSON.object(AnthropicMessagesResponseEncoder.encode(response, model: model)))
    }

    @Test func writesThinkingTextToolUseAndCachedUsage() throws {
        let response = CanonicalResponse(
            id: "msg_01Hq7rVx2pWcLk9TzN4bEa3D",
            model: "claude-sonnet-4-5",
            content: [
                .thinking(text: "Need the tool.", signature: "EqQBCgIYAh…"),
                .text("Checking."),
                .toolCall(
                    CanonicalToolCall(
                        id: "toolu_01B", name: "get_weather", arguments: #" {"city": "Rome", "unit": "celsius"} "#)),
                .redactedThinking(data: "EmwKAhgB"),
            ],
            stopReason: .toolCalls,
            usage: TokenUsage(
                promptTokens: 472 + 2048 + 100, completionTokens: 89, cachedPromptTokens: 2048, reasoningTokens: 30,
                cacheCreationPromptTokens: 100)
        )
        let expected = try Fixture.bytes("anthropic_front/response_thinking_tool_use.json")
        #expect(
            try JSONComparison.normalized(AnthropicMessagesResponseEncoder.encode(response))
                == JSONComparison.normalized(expected))
    }

    @Test func reportsTheGivenModel() throws {
        let response = CanonicalResponse(id: "msg_1", model: "gpt-4o", content: [.text("Hi")], stopReason: .stop)
        #expect(try encoded(response, model: "smart")["model"] as? String == "smart")
        #expect(try encoded(response)["model"] as? String == "gpt-4o")
    }

    @Test(
        arguments: [
            (CanonicalStopReason.stop, nil, "end_turn", nil),
            (.stop, "END", "stop_sequence", "END"),
            (.length, nil, "max_tokens", nil),
            (.toolCalls, nil, "tool_use", nil),
            (.contentFilter, nil, "refusal", nil),
            (.pauseTurn, nil, "pause_turn", nil),
        ] as [(CanonicalStopReason, String?, String, String?)])
    func mapsStopReasons(reason: CanonicalStopReason, sequence: String?, expected: String, expectedSequence: String?)
        throws
    {
        let response = CanonicalResponse(
            id: "msg_1", model: "m", content: [], stopReason: reason, stopSequence: sequence)
        let body = try encoded(response)
        #expect(body["stop_reason"] as? String == expected)
        #expect(body["stop_sequence"] as? String == expectedSequence)
        #expect(body.keys.contains("stop_sequence"))
    }

    @Test func noStopReasonAndNoUsageAreNullAndZeros() throws {
        let body = try encoded(CanonicalResponse(id: "msg_1", model: "m", content: [], stopReason: nil))
        #expect(body["stop_reason"] is NSNull)
        #expect(body["content"] as? [Any] != nil)
        let usage = try #require(body["usage"] as? [String: Int])
        #expect(
            usage == [
                "input_tokens": 0, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 0,
            ])
    }

    @Test func inputTokensAreNeverNegative() throws {
        let usage = TokenUsage(promptTokens: 10, completionTokens: 1, cachedPromptTokens: 12)
        let body = try encoded(CanonicalResponse(id: "x", model: "m", content: [], stopReason: .stop, usage: usage))
        #expect((body["usage"] as? [String: Int])?["input_tokens"] == 0)
    }

    @Test(arguments: ["", "  ", "{\"city\":", "[1,2]", "\"text\"", "null"])
    func badArgumentsBecomeAnEmptyInput(arguments: String) throws {
        let call = CanonicalToolCall(id: "call_1", name: "f", arguments: arguments)
        let body = try encoded(
            CanonicalResponse(id: "x", model: "m", content: [.toolCall(call)], stopReason: .toolCalls))
        let block = try #require((body["content"] as? [[String: Any]])?.first)
        #expect(block["type"] as? String == "tool_use")
        #expect((block["input"] as? [String: Any])?.isEmpty == true)
    }

    @Test func anUnsignedThinkingBlockGetsAnEmptySignature() throws {
        let response = CanonicalResponse(
            id: "x", model: "m", content: [.thinking(text: "Hmm", signature: nil)], stopReason: .stop)
        let block = try #require((try encoded(response)["content"] as? [[String: Any]])?.first)
        #expect(block["signature"] as? String == "")
    }

    @Test func messageIDs() {
        #expect(AnthropicMessagesResponseEncoder.messageID("msg_01ABC") == "msg_01ABC")
        #expect(AnthropicMessagesResponseEncoder.messageID("chatcmpl-9xYz") == "msg_chatcmpl-9xYz")
        #expect(AnthropicMessagesResponseEncoder.messageID("resp/1 2:3.é") == "msg_resp123")
        let random = AnthropicMessagesResponseEncoder.messageID("")
        #expect(random.hasPrefix("msg_"))
        #expect(random.count == 28)
        #expect(random.dropFirst(4).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        #expect(AnthropicMessagesResponseEncoder.messageID("/") != random)
    }

    @Test(arguments: ["message_response.json"])
    func roundTripsThroughTheProviderDecoder(fixture: String) throws {
        let original = try AnthropicMessagesResponseDecoder.decode(try Fixture.bytes("anthropic/" + fixture))
        let again = try AnthropicMessagesResponseDecoder.decode(AnthropicMessagesResponseEncoder.encode(original))
        #expect(again == original)
        #expect(!original.content.isEmpty)
    }

    @Test func roundTripsTheEncodersOwnFixture() throws {
        let fixture = try Fixture.bytes("anthropic_front/response_thinking_tool_use.json")
        let original = try AnthropicMessagesResponseDecoder.decode(fixture)
        let encoded = AnthropicMessagesResponseEncoder.encode(original)
        #expect(try JSONComparison.normalized(encoded) == JSONComparison.normalized(fixture))
        #expect(try AnthropicMessagesResponseDecoder.decode(encoded) == original)
    }
}

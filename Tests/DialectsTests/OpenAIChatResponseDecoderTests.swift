import GatewayCore
import Testing

@testable import Dialects

@Suite struct OpenAIChatResponseDecoderTests {
    private func decode(_ json: String) throws -> CanonicalResponse {
        try OpenAIChatResponseDecoder.decode(Array(json.utf8))
    }

    @Test func decodesAToolCallAnswerWithUsage() throws {
        let response = try OpenAIChatResponseDecoder.decode(try Fixture.bytes("openai/chat_response.json"))
        #expect(
            response
                == CanonicalResponse(
                    id: "chatcmpl-B7xQ2",
                    model: "gpt-4o-mini-2024-07-18",
                    content: [
                        .toolCall(
                            CanonicalToolCall(id: "call_Ra41", name: "get_weather", arguments: #"{"city":"Rome"}"#))
                    ],
                    stopReason: .toolCalls,
                    usage: TokenUsage(promptTokens: 82, completionTokens: 17, cachedPromptTokens: 64)
                ))
    }

    @Test func reasoningContentComesFirstAsThinking() throws {
        let response = try OpenAIChatResponseDecoder.decode(try Fixture.bytes("openai/chat_response_reasoning.json"))
        #expect(
            response.content == [
                .thinking(text: "The user wants the weather; the tool said 18C.", signature: nil),
                .text("It is 18C in Paris."),
                .toolCall(CanonicalToolCall(id: "call_0_8f1e", name: "log_answer", arguments: #"{"city":"Paris"}"#)),
            ])
        #expect(response.stopReason == .toolCalls)
        #expect(
            response.usage
                == TokenUsage(promptTokens: 120, completionTokens: 60, cachedPromptTokens: 64, reasoningTokens: 41))
        #expect(response.model == "deepseek-reasoner")
    }

    @Test func reasoningIsReadWhenThereIsNoReasoningContent() throws {
        let response = try decode(
            #"{"id":"gen-1","model":"qwen/qwq-32b","choices":[{"index":0,"message":{"role":"assistant","#
                + #""content":"4","reasoning":"2+2 is 4"},"finish_reason":"stop"}]}"#)
        #expect(response.content == [.thinking(text: "2+2 is 4", signature: nil), .text("4")])
        #expect(response.stopReason == .stop)
        #expect(response.usage == nil)
    }

    @Test func aRefusalIsTextAndFinishesAsContentFilter() throws {
        let response = try OpenAIChatResponseDecoder.decode(try Fixture.bytes("openai/chat_response_refusal.json"))
        #expect(response.content == [.text("I'm sorry, I can't help with that.")])
        #expect(response.stopReason == .contentFilter)
        let truncated = try decode(
            #"{"id":"x","model":"m","choices":[{"message":{"content":null,"refusal":"I can"},"#
                + #""finish_reason":"length"}]}"#
        )
        #expect(truncated.stopReason == .length)
    }

    @Test func azureAnnotationsAreIgnored() throws {
        let response = try OpenAIChatResponseDecoder.decode(try Fixture.bytes("openai/chat_response_azure.json"))
        #expect(
            response
                == CanonicalResponse(
                    id: "chatcmpl-Ble7", model: "gpt-4o-2024-08-06", content: [.text("Hello!")], stopReason: .stop,
                    usage: TokenUsage(promptTokens: 11, completionTokens: 3)))
    }

    @Test func contentPartsAndMistralThinkingParts() throws {
        let response = try decode(
            #"{"id":"m1","model":"magistral-medium","choices":[{"index":0,"message":{"role":"assistant","content":["#
                + #"{"type":"thinking","thinking":[{"type":"text","text":"Let me see."}]},"#
                + #"{"type":"text","text":"Hello"},{"type":"text","text":" world"}]},"finish_reason":"stop"}]}"#)
        #expect(response.content == [.thinking(text: "Let me see.", signature: nil), .text("Hello world")])
    }

    @Test func compatibleServersToolCallQuirks() throws {
        // Arguments as an object, a missing id, and `stop` although tools were called (older Ollama, vLLM).
        let response = try decode(
            #"{"id":"c","model":"llama3.1","choices":[{"index":0,"message":{"role":"assistant","content":"","#
                + #""tool_calls":[{"function":{"name":"a","arguments":{"x":1}}},"#
                + #"{"id":"call_b","type":"function","function":{"name":"b","arguments":"{}"}}]},"#
                + #""finish_reason":"stop"}]}"#
        )
        #expect(
            response.content == [
                .toolCall(CanonicalToolCall(id: "call_0", name: "a", arguments: #"{"x":1}"#)),
                .toolCall(CanonicalToolCall(id: "call_b", name: "b", arguments: "{}")),
            ])
        #expect(response.stopReason == .toolCalls)
    }

    @Test func legacyFunctionCallIsAToolCall() throws {
        let response = try decode(
            #"{"id":"f","model":"gpt-3.5-turbo-0613","choices":[{"index":0,"message":{"role":"assistant","#
                + #""content":null,"function_call":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}},"#
                + #""finish_reason":"function_call"}]}"#)
        #expect(
            response.content == [
                .toolCall(CanonicalToolCall(id: "call_0", name: "get_weather", arguments: #"{"city":"Oslo"}"#))
            ])
        #expect(response.stopReason == .toolCalls)
    }

    @Test func emptyOrMissingPartsAddNothing() throws {
        let response = try decode(
            #"{"id":"e","model":"m","choices":[{"message":{"content":""},"finish_reason":"stop"}]}"#)
        #expect(response.content.isEmpty)
        let noChoices = try decode(#"{"id":"e","model":"m","choices":[]}"#)
        #expect(noChoices.content.isEmpty)
        #expect(noChoices.stopReason == nil)
    }

    @Test func anErrorBodyThrowsItsClassifiedError() throws {
        let error = #expect(throws: CanonicalError.self) {
            try OpenAIChatResponseDecoder.decode(try Fixture.bytes("openai/error_context_length.json"))
        }
        #expect(error?.kind == .contextLength)
        #expect(error?.upstreamStatus == nil)
        let flat = #expect(throws: CanonicalError.self) {
            try decode(#"{"object":"error","message":"boom","type":"InternalServerError","param":null,"code":500}"#)
        }
        #expect(flat?.kind == .server)
        #expect(flat?.message == "boom")
    }

    @Test func aBodyThatIsNotAJSONObjectIsAServerError() {
        for body in ["<html>Bad Gateway</html>", "[1,2]", ""] {
            let error = #expect(throws: CanonicalError.self) { try decode(body) }
            #expect(error?.kind == .server)
        }
    }

    @Test(arguments: [
        CanonicalResponse(
            id: "chatcmpl-1", model: "gpt-4o",
            content: [
                .thinking(text: "Need two tools.", signature: nil), .text("Checking both."),
                .toolCall(CanonicalToolCall(id: "call_a", name: "get_weather", arguments: #"{"city":"Paris"}"#)),
                .toolCall(CanonicalToolCall(id: "call_b", name: "get_time", arguments: #"{"zone":"CET"}"#)),
            ],
            stopReason: .toolCalls,
            usage: TokenUsage(promptTokens: 100, completionTokens: 40, cachedPromptTokens: 60, reasoningTokens: 12)
        ),
        CanonicalResponse(id: "chatcmpl-2", model: "gpt-4o-mini", content: [.text("Cut")], stopReason: .length),
        CanonicalResponse(
            id: "chatcmpl-3", model: "gpt-4o-mini", content: [.text("No.")], stopReason: .contentFilter,
            usage: TokenUsage(promptTokens: 5, completionTokens: 2)),
        CanonicalResponse(id: "chatcmpl-4", model: "o3", content: [], stopReason: .stop),
    ])
    func roundTripsThroughTheEncoder(response: CanonicalResponse) throws {
        let body = OpenAIChatResponseEncoder.encode(response, created: 1_735_689_600)
        #expect(try OpenAIChatResponseDecoder.decode(body) == response)
    }

    @Test func argumentsSentAsAnObjectKeepMemberOrderAndNumberText() throws {
        let arguments = #"{"zeta":1.0,"alpha":12345678901234567890,"nested":{"b":true,"a":[null,-0.5e+10]}}"#
        let body =
            #"{"id":"c","model":"m","choices":[{"index":0,"message":{"role":"assistant","tool_calls":["#
            + #"{"id":"call_1","type":"function","function":{"name":"f","arguments":"# + arguments
            + #"}}]},"finish_reason":"tool_calls"}]}"#
        let response = try OpenAIChatResponseDecoder.decode(Array(body.utf8))
        #expect(response.content == [.toolCall(CanonicalToolCall(id: "call_1", name: "f", arguments: arguments))])
    }
}

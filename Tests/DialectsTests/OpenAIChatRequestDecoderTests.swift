import GatewayCore
import Testing

@testable import Dialects

@Suite struct OpenAIChatRequestDecoderTests {
    @Test func decodesTheWireExample() throws {
        let request = try OpenAIChatRequestDecoder.decode(try Fixture.bytes("openai/chat_request.json"))
        #expect(request.model == "gpt-4o-mini")
        #expect(request.system == ["You are terse."])
        #expect(request.messages.map(\.role) == [.user, .assistant, .tool])
        #expect(
            request.messages[0].content == [
                .text("Weather in Paris and Rome?"),
                .image(CanonicalImage(source: .base64(mediaType: "image/png", data: "iVBORw0KGgo="), detail: "auto")),
            ]
        )
        #expect(
            request.messages[1].content == [
                .toolCall(CanonicalToolCall(id: "call_7Gv1", name: "get_weather", arguments: #"{"city":"Paris"}"#))
            ]
        )
        #expect(
            request.messages[2].content == [
                .toolResult(CanonicalToolResult(toolCallID: "call_7Gv1", content: [.text("18C, cloudy")]))
            ]
        )
        #expect(request.tools.map(\.name) == ["get_weather"])
        #expect(request.tools.first?.strict == false)
        let schema = try #require(request.tools.first?.parameters)
        #expect(try JSONComparison.normalized(schema).contains("\"required\":[\"city\"]"))
        #expect(request.toolChoice == .auto)
        #expect(request.parallelToolCalls == true)
        #expect(
            request.sampling
                == CanonicalSampling(temperature: 0.2, stopSequences: ["\n\n"], maxOutputTokens: 256, choiceCount: 1)
        )
        guard case .jsonSchema(let name, let responseSchema, let strict) = request.responseFormat else {
            Issue.record("no json_schema response format")
            return
        }
        #expect(name == "w")
        #expect(responseSchema == Array(#"{"type":"object"}"#.utf8))
        #expect(strict == true)
        #expect(request.stream)
        #expect(request.includeUsage)
    }

    @Test(arguments: [
        (#""none""#, CanonicalToolChoice.disabled), (#""auto""#, .auto), (#""required""#, .required),
        (#"{"type":"function","function":{"name":"f"}}"#, .tool(name: "f")),
    ])
    func decodesToolChoices(json: String, choice: CanonicalToolChoice) throws {
        let body = #"{"model":"m","messages":[],"tool_choice":"# + json + "}"
        #expect(try OpenAIChatRequestDecoder.decode(Array(body.utf8)).toolChoice == choice)
    }

    @Test func prefersMaxCompletionTokensAndReadsReasoning() throws {
        let body =
            #"{"model":"m","messages":[],"max_tokens":10,"max_completion_tokens":20,"reasoning_effort":"low","#
            + #""stream_options":{"include_usage":true},"user":"u","seed":3,"top_k":5}"#
        let request = try OpenAIChatRequestDecoder.decode(Array(body.utf8))
        #expect(request.sampling.maxOutputTokens == 20)
        #expect(request.sampling.seed == 3)
        #expect(request.sampling.topK == 5)
        #expect(request.thinking == .effort("low"))
        #expect(!request.includeUsage, "include_usage only counts with stream:true")
        #expect(request.user == "u")
        let legacy = #"{"model":"m","messages":[],"max_tokens":10,"thinking":{"type":"enabled","budget_tokens":2048}}"#
        let legacyRequest = try OpenAIChatRequestDecoder.decode(Array(legacy.utf8))
        #expect(legacyRequest.sampling.maxOutputTokens == 10)
        #expect(legacyRequest.thinking == .budget(2048))
    }

    @Test(arguments: [
        #"{"messages":[]}"#,
        #"{"model":"m"}"#,
        #"{"model":"m","messages":[{"role":"function","content":"x"}]}"#,
        #"{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}"#,
        #"{"model":"m","messages":[{"role":"tool","content":"x"}]}"#,
        #"{"model":"m","messages":[],"tool_choice":"sometimes"}"#,
        "not json",
    ])
    func refusesWhatItCannotTranslate(body: String) {
        #expect(throws: GatewayError.self) { try OpenAIChatRequestDecoder.decode(Array(body.utf8)) }
    }

    @Test func keepsHTTPImagesAsURLs() {
        #expect(OpenAIChatRequestDecoder.imageSource("https://x/y.png") == .url("https://x/y.png"))
        #expect(
            OpenAIChatRequestDecoder.imageSource("data:image/jpeg;base64,AAA=")
                == .base64(mediaType: "image/jpeg", data: "AAA="))
        #expect(OpenAIChatRequestDecoder.imageSource("data:text/plain,hello") == .url("data:text/plain,hello"))
    }

    @Test func toolParametersKeepMemberOrderAndNumberText() throws {
        let schema =
            #"{"type":"object","properties":{"zeta":{"type":"number","maximum":1.0},"alpha":{"type":"integer","maximum":12345678901234567890}},"required":["zeta"]}"#
        let body =
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f","parameters":"#
            + schema + "}}]}"
        let request = try OpenAIChatRequestDecoder.decode(Array(body.utf8))
        #expect(request.tools.first?.parameters.map { String(decoding: $0, as: UTF8.self) } == schema)
    }
}

import Foundation
import GatewayCore
import Testing

@testable import Dialects

@Suite struct GeminiProviderCodecTests {
    private let provider = ProviderConfiguration(
        name: "gemini", kind: .gemini, baseURL: "https://generativelanguage.googleapis.com")

    @Test func translatesAnOpenAIRequest() throws {
        let canonical = try OpenAIChatRequestDecoder.decode(try Fixture.bytes("openai/chat_request.json"))
        let body = try GeminiRequestEncoder.encode(canonical)
        let expected = try Fixture.bytes("gemini/request_from_openai.json")
        #expect(try JSONComparison.normalized(body) == JSONComparison.normalized(expected))
    }

    @Test func buildsTheUpstreamRequestWithTheKeyInAHeader() throws {
        var canonical = CanonicalRequest(
            model: "gemini-2.5-flash", messages: [.init(role: .user, content: [.text("Hi")])])
        var request = try GeminiProviderCodec.request(
            canonical, provider: provider, apiKey: "AIza-test", timeouts: TimeoutConfiguration())
        #expect(
            request.url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent")
        let headers = Dictionary(uniqueKeysWithValues: request.headers.map { ($0.name, $0.value) })
        #expect(headers["x-goog-api-key"] == "AIza-test")
        #expect(headers["accept"] == "application/json")
        #expect(!request.url.contains("key="))
        let expected = #"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}"#
        #expect(try JSONComparison.normalized(request.body) == JSONComparison.normalized(Array(expected.utf8)))

        canonical.stream = true
        request = try GeminiProviderCodec.request(
            canonical, provider: provider, apiKey: nil, timeouts: TimeoutConfiguration())
        #expect(request.url.hasSuffix("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"))
        #expect(!request.headers.contains { $0.name == "x-goog-api-key" })
    }

    @Test(arguments: [
        (
            "https://g.example", "gemini-2.5-flash", false,
            "https://g.example/v1beta/models/gemini-2.5-flash:generateContent"
        ),
        (
            "https://g.example/", "models/gemini-2.5-pro", false,
            "https://g.example/v1beta/models/gemini-2.5-pro:generateContent"
        ),
        (
            "http://localhost/v1beta", "a b/c?d", true,
            "http://localhost/v1beta/models/a%20b%2Fc%3Fd:streamGenerateContent?alt=sse"
        ),
    ])
    func joinsTheModelPath(base: String, model: String, stream: Bool, url: String) {
        #expect(GeminiProviderCodec.url(baseURL: base, model: model, stream: stream) == url)
    }

    @Test func mergesRolesAndCarriesToolsThinkingAndSignatures() throws {
        var request = CanonicalRequest(model: "m")
        request.system = ["Be brief.", "", "Use tools."]
        request.messages = [
            .init(role: .user, content: [.text("a"), .text("")]),
            .init(role: .user, content: [.image(.init(source: .url("https://x.example/cat.JPG?size=2")))]),
            .init(
                role: .assistant,
                content: [
                    .thinking(text: "hmm", signature: "sig1"),
                    .toolCall(.init(id: "c1", name: "lookup", arguments: "")),
                    .toolCall(.init(id: "c2", name: "fetch", arguments: #"{"q":1}"#)),
                ]),
            .init(
                role: .tool,
                content: [
                    .toolResult(.init(toolCallID: "c1", content: [.text(#"{"found":true}"#)])),
                    .toolResult(.init(toolCallID: "c2", content: [.text("plain")], isError: true)),
                ]),
            .init(role: .user, content: [.text("next")]),
        ]
        request.tools = [.init(name: "lookup"), .init(name: "fetch", parameters: Array(#"{"type":"object"}"#.utf8))]
        request.toolChoice = .tool(name: "fetch")
        request.thinking = .disabled
        request.sampling = CanonicalSampling(topK: 40, seed: 7)
        request.responseFormat = .jsonObject
        let body = try GeminiRequestEncoder.encode(request)
        let expected = """
            {"systemInstruction":{"parts":[{"text":"Be brief."},{"text":"Use tools."}]},
             "contents":[
              {"role":"user","parts":[{"text":"a"},{"fileData":{"mimeType":"image/jpeg","fileUri":"https://x.example/cat.JPG?size=2"}}]},
              {"role":"model","parts":[{"functionCall":{"name":"lookup","args":{}},"thoughtSignature":"sig1"},
                                       {"functionCall":{"name":"fetch","args":{"q":1}}}]},
              {"role":"user","parts":[{"functionResponse":{"name":"lookup","response":{"found":true}}},
                                      {"functionResponse":{"name":"fetch","response":{"result":"plain"}}},
                                      {"text":"next"}]}],
             "tools":[{"functionDeclarations":[{"name":"lookup"},{"name":"fetch","parameters":{"type":"object"}}]}],
             "toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["fetch"]}},
             "generationConfig":{"topK":40,"seed":7,"responseMimeType":"application/json",
               "thinkingConfig":{"thinkingBudget":0}}}
            """
        #expect(try JSONComparison.normalized(body) == JSONComparison.normalized(Array(expected.utf8)))
    }

    @Test(arguments: [
        (CanonicalToolChoice.auto, "AUTO"), (.disabled, "NONE"), (.required, "ANY"),
    ])
    func mapsToolChoices(choice: CanonicalToolChoice, mode: String) throws {
        let request = CanonicalRequest(model: "m", tools: [.init(name: "f")], toolChoice: choice)
        let root = try #require(FoundationJSON.object(try GeminiRequestEncoder.encode(request)))
        let config = (root["toolConfig"] as? [String: Any])?["functionCallingConfig"] as? [String: Any]
        #expect(config?["mode"] as? String == mode)
        #expect(config?["allowedFunctionNames"] == nil)
    }

    @Test(arguments: [
        (CanonicalThinking.budget(512), 512), (.effort("low"), 1024), (.effort("medium"), 8192),
        (.effort("high"), 24576), (.disabled, 0),
    ])
    func mapsThinkingToABudget(thinking: CanonicalThinking, budget: Int) {
        #expect(GeminiRequestEncoder.thinkingBudget(thinking) == budget)
    }

    @Test func refusesWhatItCannotTranslate() {
        let cases: [CanonicalRequest] = [
            CanonicalRequest(
                model: "m",
                messages: [.init(role: .user, content: [.image(.init(source: .url("https://x.example/photo")))])]),
            CanonicalRequest(
                model: "m",
                messages: [.init(role: .user, content: [.image(.init(source: .url("data:image/png,raw")))])]),
            CanonicalRequest(
                model: "m",
                messages: [.init(role: .tool, content: [.toolResult(.init(toolCallID: "nope", content: [.text("x")]))])]
            ),
            CanonicalRequest(
                model: "m",
                messages: [
                    .init(role: .assistant, content: [.toolCall(.init(id: "c", name: "f", arguments: "[1]"))])
                ]),
            CanonicalRequest(model: "m", sampling: CanonicalSampling(choiceCount: 2)),
        ]
        for request in cases {
            #expect(throws: GatewayError.self) { try GeminiRequestEncoder.encode(request) }
        }
    }

    @Test func parsesANonStreamResponse() throws {
        let response = try GeminiProviderCodec.response(try Fixture.bytes("gemini/response.json"))
        #expect(response.id == "Zk9pQ2vYJqGm8gXr")
        #expect(response.model == "gemini-2.5-flash")
        #expect(response.stopReason == .toolCalls)
        #expect(response.text == "Checking Rome.")
        #expect(
            response.toolCalls == [
                CanonicalToolCall(id: "call_0__ts_CiQBVKhc", name: "get_weather", arguments: #"{"city":"Rome"}"#)
            ]
        )
        #expect(response.usage == TokenUsage(promptTokens: 102, completionTokens: 438, reasoningTokens: 278))
        let body = OpenAIChatResponseEncoder.encode(response, created: 1_735_689_600)
        let expected = try Fixture.bytes("gemini/openai_response.json")
        #expect(
            try JSONComparison.normalized(body, ignoring: ["id", "created"])
                == JSONComparison.normalized(expected, ignoring: ["id", "created"])
        )
    }

    @Test func readsThoughtsIdsAndCachedTokens() throws {
        let body = """
            {"candidates":[{"content":{"role":"model","parts":[
               {"text":"plan","thought":true,"thoughtSignature":"s1"},
               {"functionCall":{"name":"a","args":{}}},{"functionCall":{"name":"b"}},{"text":"done"}]},
               "finishReason":"STOP"}],
             "usageMetadata":{"promptTokenCount":50,"cachedContentTokenCount":40,"candidatesTokenCount":5}}
            """
        let response = try GeminiProviderCodec.response(Array(body.utf8))
        #expect(
            response.content == [
                .thinking(text: "plan", signature: "s1"),
                .toolCall(.init(id: "call_0", name: "a", arguments: "{}")),
                .toolCall(.init(id: "call_1", name: "b", arguments: "{}")),
                .text("done"),
            ])
        #expect(response.usage == TokenUsage(promptTokens: 50, completionTokens: 5, cachedPromptTokens: 40))
    }

    @Test(arguments: [
        ("STOP", false, CanonicalStopReason.stop), ("STOP", true, .toolCalls), ("MAX_TOKENS", true, .length),
        ("SAFETY", false, .contentFilter), ("RECITATION", false, .contentFilter), ("BLOCKLIST", false, .contentFilter),
        ("PROHIBITED_CONTENT", false, .contentFilter), ("SPII", false, .contentFilter),
        ("IMAGE_SAFETY", false, .contentFilter), ("LANGUAGE", false, .stop), ("SOMETHING_NEW", false, .stop),
    ])
    func mapsFinishReasons(gemini: String, sawToolCall: Bool, canonical: CanonicalStopReason) {
        #expect(GeminiResponseDecoder.finishReason(gemini, sawToolCall: sawToolCall) == canonical)
    }

    @Test func aBlockedPromptIsContentFiltered() throws {
        let body = #"{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":9}}"#
        let response = try GeminiProviderCodec.response(Array(body.utf8))
        #expect(response.stopReason == .contentFilter)
        #expect(response.content.isEmpty)
        let openAI = try #require(FoundationJSON.object(OpenAIChatResponseEncoder.encode(response, created: 0)))
        let choice = (openAI["choices"] as? [[String: Any]])?.first
        #expect(choice?["finish_reason"] as? String == "content_filter")
    }

    @Test func anErrorBodyWithStatus200Throws() {
        #expect(throws: CanonicalError.self) {
            try GeminiProviderCodec.response(try Fixture.bytes("gemini/error_overloaded.json"))
        }
    }

    @Test func functionCallArgsKeepMemberOrderAndNumberText() throws {
        let arguments = #"{"zeta":1.0,"alpha":12345678901234567890,"nested":{"b":true,"a":[null,-0.5e+10]}}"#
        let body =
            #"{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"f","args":"#
            + arguments + #"}}]},"finishReason":"STOP"}]}"#
        let response = try GeminiProviderCodec.response(Array(body.utf8))
        #expect(response.content == [.toolCall(CanonicalToolCall(id: "call_0", name: "f", arguments: arguments))])
    }
}

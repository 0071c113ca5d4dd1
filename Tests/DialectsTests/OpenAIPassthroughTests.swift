import GatewayCore
import Testing

@testable import Dialects

@Suite struct OpenAIPassthroughTests {
    @Test func rewritesOnlyTheModelForNonStreamRequests() throws {
        let body = Array(#"{"model": "smart", "messages":[{"role":"user","content":"hi"}], "temperature":0.20}"#.utf8)
        let summary = try OpenAIPassthrough.inspect(body, endpoint: .chatCompletions)
        #expect(summary.model == "smart")
        #expect(!summary.stream)
        let out = OpenAIPassthrough.rewrite(body, summary: summary, upstreamModel: "gpt-4o")
        #expect(out.text == #"{"model": "gpt-4o", "messages":[{"role":"user","content":"hi"}], "temperature":0.20}"#)
    }

    @Test func forcesIncludeUsageOnStreams() throws {
        let cases: [(String, String)] = [
            (
                #"{"model":"m","messages":[1],"stream":true}"#,
                #"{"model":"x","messages":[1],"stream":true,"stream_options":{"include_usage":true}}"#
            ),
            (
                #"{"model":"m","messages":[1],"stream":true,"stream_options":{}}"#,
                #"{"model":"x","messages":[1],"stream":true,"stream_options":{"include_usage":true}}"#
            ),
            (
                #"{"model":"m","messages":[1],"stream":true,"stream_options":{"include_obfuscation":false}}"#,
                #"{"model":"x","messages":[1],"stream":true,"stream_options":{"include_usage":true,"include_obfuscation":false}}"#
            ),
            (
                #"{"model":"m","messages":[1],"stream":true,"stream_options":{"include_usage":false}}"#,
                #"{"model":"x","messages":[1],"stream":true,"stream_options":{"include_usage":true}}"#
            ),
            (
                #"{"model":"m","messages":[1],"stream":true,"stream_options":null}"#,
                #"{"model":"x","messages":[1],"stream":true,"stream_options":{"include_usage":true}}"#
            ),
        ]
        for (input, expected) in cases {
            let body = Array(input.utf8)
            let summary = try OpenAIPassthrough.inspect(body, endpoint: .chatCompletions)
            #expect(!summary.clientWantsStreamUsage)
            let out = OpenAIPassthrough.rewrite(body, summary: summary, upstreamModel: "x")
            #expect(out.text == expected)
            _ = try JSONScanner.scanObject(out)
        }
    }

    @Test func leavesAClientsOwnIncludeUsageAlone() throws {
        let body = Array(#"{"model":"m","messages":[1],"stream":true,"stream_options":{"include_usage":true}}"#.utf8)
        let summary = try OpenAIPassthrough.inspect(body, endpoint: .chatCompletions)
        #expect(summary.clientWantsStreamUsage)
        #expect(OpenAIPassthrough.rewrite(body, summary: summary, upstreamModel: "m") == body)
    }

    @Test func escapesTheUpstreamModelName() throws {
        let body = Array(#"{"model":"m","messages":[1]}"#.utf8)
        let summary = try OpenAIPassthrough.inspect(body, endpoint: .chatCompletions)
        let out = OpenAIPassthrough.rewrite(body, summary: summary, upstreamModel: #"we"ird"#)
        #expect(out.text == #"{"model":"we\"ird","messages":[1]}"#)
    }

    @Test(arguments: [
        (#"{"messages":[1]}"#, "model"), (#"{"model":1,"messages":[1]}"#, "model"),
        (#"{"model":"","messages":[1]}"#, "model"),
        (#"{"model":"m"}"#, "messages"), (#"{"model":"m","messages":[]}"#, "messages"),
        (#"{"model":"m","messages":"hi"}"#, "messages"), (#"{"model":"m","messages":[1],"stream":"yes"}"#, "stream"),
    ])
    func rejectsInvalidChatRequests(_ body: String, _ param: String) {
        #expect {
            try OpenAIPassthrough.inspect(Array(body.utf8), endpoint: .chatCompletions)
        } throws: { error in
            (error as? GatewayError)?.status == 400 && (error as? GatewayError)?.param == param
        }
    }

    @Test func rejectsMalformedJSONAsBadRequest() {
        #expect {
            try OpenAIPassthrough.inspect(Array("{nope".utf8), endpoint: .chatCompletions)
        } throws: { error in
            (error as? GatewayError)?.code == .badRequest
        }
    }

    @Test func embeddingsNeedInput() throws {
        _ = try OpenAIPassthrough.inspect(Array(#"{"model":"e","input":"hi"}"#.utf8), endpoint: .embeddings)
        #expect(throws: GatewayError.self) {
            try OpenAIPassthrough.inspect(Array(#"{"model":"e"}"#.utf8), endpoint: .embeddings)
        }
    }

    @Test func readsUsageFromTheWireDocResponse() throws {
        let usage = OpenAIPassthrough.usage(inResponse: try Fixture.bytes("openai/chat_response.json"))
        #expect(usage == TokenUsage(promptTokens: 82, completionTokens: 17, cachedPromptTokens: 64, reasoningTokens: 0))
    }
}

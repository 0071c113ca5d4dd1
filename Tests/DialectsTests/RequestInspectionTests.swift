import GatewayCore
import Testing

@testable import Dialects

@Suite struct RequestInspectionTests {
    @Test func rewritesOnlyTheModelForNonStreamRequests() throws {
        let body = Array(#"{"model": "smart", "messages":[{"role":"user","content":"hi"}], "temperature":0.20}"#.utf8)
        let summary = try RequestInspection.inspect(body, endpoint: .chatCompletions)
        #expect(summary.model == "smart")
        #expect(!summary.stream)
        let out = RequestInspection.rewrite(body, summary: summary, upstreamModel: "gpt-4o")
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
            let summary = try RequestInspection.inspect(body, endpoint: .chatCompletions)
            #expect(!summary.clientWantsStreamUsage)
            let out = RequestInspection.rewrite(body, summary: summary, upstreamModel: "x")
            #expect(out.text == expected)
            _ = try JSONScanner.scanObject(out)
        }
    }

    @Test func leavesAClientsOwnIncludeUsageAlone() throws {
        let body = Array(#"{"model":"m","messages":[1],"stream":true,"stream_options":{"include_usage":true}}"#.utf8)
        let summary = try RequestInspection.inspect(body, endpoint: .chatCompletions)
        #expect(summary.clientWantsStreamUsage)
        #expect(RequestInspection.rewrite(body, summary: summary, upstreamModel: "m") == body)
    }

    @Test func escapesTheUpstreamModelName() throws {
        let body = Array(#"{"model":"m","messages":[1]}"#.utf8)
        let summary = try RequestInspection.inspect(body, endpoint: .chatCompletions)
        let out = RequestInspection.rewrite(body, summary: summary, upstreamModel: #"we"ird"#)
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
            try RequestInspection.inspect(Array(body.utf8), endpoint: .chatCompletions)
        } throws: { error in
            (error as? GatewayError)?.status == 400 && (error as? GatewayError)?.param == param
        }
    }

    @Test func rejectsMalformedJSONAsBadRequest() {
        #expect {
            try RequestInspection.inspect(Array("{nope".utf8), endpoint: .chatCompletions)
        } throws: { error in
            (error as? GatewayError)?.code == .badRequest
        }
    }

    @Test func embeddingsNeedInput() throws {
        _ = try RequestInspection.inspect(Array(#"{"model":"e","input":"hi"}"#.utf8), endpoint: .embeddings)
        #expect(throws: GatewayError.self) {
            try RequestInspection.inspect(Array(#"{"model":"e"}"#.utf8), endpoint: .embeddings)
        }
    }

    @Test func readsUsageFromTheWireDocResponse() throws {
        let usage = RequestInspection.usage(inResponse: try Fixture.bytes("openai/chat_response.json"))
        #expect(usage == TokenUsage(promptTokens: 82, completionTokens: 17, cachedPromptTokens: 64, reasoningTokens: 0))
    }
}

@Suite struct RequestInspectionBoundsTests {
    private func refusal(_ json: String, endpoint: RequestInspection.Endpoint = .chatCompletions) -> GatewayError? {
        do {
            _ = try RequestInspection.inspect(Array(json.utf8), endpoint: endpoint)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [
        "9223372036854775807", "18446744073709551616", "1e17", "1e400", "-1", "0", "1.5", "100.0", "\"100\"", "true",
        "2147483648",
    ])
    func maxTokensOutsideTheBoundedRangeIsABadRequest(value: String) {
        for name in ["max_tokens", "max_completion_tokens"] {
            let error = refusal(#"{"model":"m","messages":[{"role":"user","content":"x"}],"\#(name)":\#(value)}"#)
            #expect(error?.code == .badRequest, "\(name): \(value)")
            #expect(error?.param == name)
        }
        let anthropic = refusal(
            #"{"model":"m","max_tokens":\#(value),"messages":[{"role":"user","content":"x"}]}"#, endpoint: .messages)
        #expect(anthropic?.code == .badRequest)
    }

    @Test func boundedIntegersInRangePass() {
        #expect(
            refusal(#"{"model":"m","messages":[1],"max_tokens":2147483647,"n":1,"seed":-9223372036854775808}"#) == nil)
        #expect(refusal(#"{"model":"m","messages":[1],"max_tokens":null,"temperature":null}"#) == nil)
    }

    @Test func wrongKindsOfWellKnownMembersAreBadRequests() {
        for member in [
            #""temperature":"hot""#, #""top_p":[1]"#, #""stream_options":true"#, #""tools":{}"#, #""stop":1"#,
            #""user":5"#, #""logprobs":"yes""#, #""tool_choice":3"#,
        ] {
            let error = refusal(#"{"model":"m","messages":[1],\#(member)}"#)
            #expect(error?.code == .badRequest, "\(member)")
        }
    }

    @Test func duplicateTopLevelMembersAreBadRequests() {
        let error = refusal(#"{"model":"m","messages":[1],"model":"other"}"#)
        #expect(error?.code == .badRequest)
        #expect(error?.param == "model")
    }

    @Test func invalidUTF8IsABadRequest() {
        var body = Array(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#.utf8)
        body.insert(0xC3, at: body.count - 5)  // a lead byte without its continuation
        #expect(throws: GatewayError.self) { try RequestInspection.inspect(body, endpoint: .chatCompletions) }
        for bad: [UInt8] in [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            #expect(JSONScanner.firstInvalidUTF8(Array("ab".utf8) + bad) == 2)
        }
        #expect(JSONScanner.firstInvalidUTF8(Array("héllo €𝄞".utf8)) == nil)
    }

    @Test func thinkingBudgetIsBounded() {
        let body = #"{"model":"m","max_tokens":5,"messages":[1],"thinking":{"type":"enabled","budget_tokens":1e18}}"#
        #expect(refusal(body, endpoint: .messages)?.code == .badRequest)
    }
}

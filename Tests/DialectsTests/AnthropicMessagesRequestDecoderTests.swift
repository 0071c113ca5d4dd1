import GatewayCore
import Testing

@testable import Dialects

@Suite struct AnthropicMessagesRequestDecoderTests {
    private func decode(_ json: String) throws(GatewayError) -> CanonicalRequest {
        try AnthropicMessagesRequestDecoder.decode(Array(json.utf8))
    }

    /// The error `json` is refused with (a 400), or nil when it is accepted.
    private func refusal(_ json: String) -> GatewayError? {
        do {
            _ = try decode(json)
            return nil
        } catch {
            return error
        }
    }

    /// A minimal valid request with `extra` members added at the top level.
    private func request(_ extra: String, messages: String = #"[{"role":"user","content":"Hi"}]"#) -> String {
        #"{"model":"claude-haiku-4-5","max_tokens":64,"messages":\#(messages)\#(extra.isEmpty ? "" : ",")\#(extra)}"#
    }

    @Test func decodesTheFullWireExample() throws {
        let request = try AnthropicMessagesRequestDecoder.decode(try Fixture.bytes("anthropic_front/request_full.json"))
        #expect(request.model == "claude-sonnet-4-5")
        #expect(request.system == ["You are terse."])
        #expect(request.sampling.maxOutputTokens == 2048)
        #expect(request.sampling.stopSequences == ["\n\nHuman:"])
        #expect(request.thinking == .budget(1024))
        #expect(request.toolChoice == .auto)
        #expect(request.parallelToolCalls == nil)
        #expect(request.stream && request.includeUsage)
        #expect(request.user == "u-42")
        #expect(request.metadata.isEmpty)
        #expect(
            request.messages == [
                CanonicalMessage(
                    role: .user,
                    content: [
                        .text("Weather in Paris?"),
                        .image(CanonicalImage(source: .base64(mediaType: "image/png", data: "iVBORw0KGgo="))),
                    ]
                ),
                CanonicalMessage(
                    role: .assistant,
                    content: [
                        .thinking(text: "Need the tool.", signature: "EqQBCgIYAh…"),
                        .toolCall(
                            CanonicalToolCall(id: "toolu_01A", name: "get_weather", arguments: #"{"city":"Paris"}"#)),
                    ]
                ),
                CanonicalMessage(
                    role: .tool,
                    content: [
                        .toolResult(CanonicalToolResult(toolCallID: "toolu_01A", content: [.text("18C, cloudy")]))
                    ]
                ),
            ]
        )
        let tool = try #require(request.tools.first)
        #expect(request.tools.count == 1)
        #expect(tool.name == "get_weather")
        #expect(tool.description == "Current weather")
        #expect(
            try JSONComparison.normalized(try #require(tool.parameters))
                == #"{"properties":{"city":{"type":"string"}},"required":["city"],"type":"object"}"#
        )
    }

    @Test func toolResultsComeFirstEachInItsOwnToolMessage() throws {
        let request = try AnthropicMessagesRequestDecoder.decode(
            try Fixture.bytes("anthropic_front/request_tool_results.json"))
        #expect(request.system == ["Be brief."])
        #expect(request.toolChoice == .required)
        #expect(request.parallelToolCalls == false)
        #expect(request.thinking == .disabled)
        #expect(!request.stream && !request.includeUsage)
        #expect(request.sampling.temperature == 0.2)
        #expect(request.sampling.topP == 0.9)
        #expect(request.sampling.topK == 40)
        #expect(request.messages.map(\.role) == [.user, .assistant, .tool, .tool, .user])
        #expect(
            request.messages[1].content == [
                .text("Checking both."),
                .toolCall(
                    CanonicalToolCall(
                        // The input's members in the client's order (`unit` first), never sorted.
                        id: "toolu_P1", name: "get_weather", arguments: #"{"unit":"celsius","city":"Paris"}"#)),
                .toolCall(CanonicalToolCall(id: "toolu_R2", name: "get_weather", arguments: #"{"city":"Rome"}"#)),
                .redactedThinking(data: "EmwKAhgB"),
            ]
        )
        let paris = CanonicalToolResult(
            toolCallID: "toolu_P1",
            content: [.text("18C, cloudy"), .image(CanonicalImage(source: .url("https://example.com/paris.png")))]
        )
        let rome = CanonicalToolResult(toolCallID: "toolu_R2", content: [.text("station offline")], isError: true)
        #expect(request.messages[2].content == [.toolResult(paris)])
        #expect(request.messages[3].content == [.toolResult(rome)])
        #expect(
            request.messages[4].content == [
                .text("Here you go; also, this chart:"),
                .image(CanonicalImage(source: .url("https://example.com/chart.png"))),
            ]
        )
    }

    @Test func aTurnOfOnlyToolResultsLeavesNoEmptyUserMessage() throws {
        let messages = #"""
            [{"role":"user","content":"Hi"},
             {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}}]},
             {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1"}]}]
            """#
        let request = try decode(request("", messages: messages))
        #expect(request.messages.map(\.role) == [.user, .assistant, .tool])
        #expect(request.messages[1].content == [.toolCall(CanonicalToolCall(id: "t1", name: "f", arguments: "{}"))])
        #expect(request.messages[2].content == [.toolResult(CanonicalToolResult(toolCallID: "t1", content: []))])
    }

    @Test func systemAsAStringOrSeveralBlocks() throws {
        #expect(try decode(request(#""system":"Be kind.""#)).system == ["Be kind."])
        #expect(try decode(request(#""system":"""#)).system == [])
        let blocks = #""system":[{"type":"text","text":"One."},{"type":"text","text":"Two."}]"#
        #expect(try decode(request(blocks)).system == ["One.", "Two."])
        let refused = refusal(request(#""system":[{"type":"image","source":{}}]"#))
        #expect(refused?.param == "system")
    }

    @Test func maxTokensIsRequired() throws {
        let missing = refusal(#"{"model":"m","messages":[{"role":"user","content":"Hi"}]}"#)
        #expect(missing == GatewayError(.badRequest, "max_tokens: Field required", param: "max_tokens"))
        #expect(missing?.status == 400)
        #expect(
            refusal(#"{"model":"m","max_tokens":"9","messages":[{"role":"user","content":"Hi"}]}"#)?.param
                == "max_tokens")
        #expect(
            refusal(#"{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"Hi"}]}"#)?.param == "max_tokens"
        )
    }

    @Test func modelAndMessagesAreRequired() {
        #expect(refusal(#"{"max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}"#)?.param == "model")
        #expect(refusal(#"{"model":"","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]}"#)?.param == "model")
        #expect(refusal(#"{"model":"m","max_tokens":5}"#)?.message == "messages: Field required")
        #expect(refusal(#"{"model":"m","max_tokens":5,"messages":[]}"#)?.param == "messages")
        #expect(refusal("[1]")?.code == .badRequest)
    }

    @Test(arguments: ["document", "server_tool_use", "search_result", "web_search_tool_result", "container_upload"])
    func unknownBlockTypesAreRefusedByName(type: String) {
        let messages = #"[{"role":"user","content":[{"type":"text","text":"Read"},{"type":"\#(type)","source":{}}]}]"#
        let refused = refusal(request("", messages: messages))
        #expect(refused?.code == .badRequest)
        #expect(refused?.param == "messages")
        #expect(refused?.message.contains("'\(type)'") == true)
        #expect(refused?.message.contains("not supported") == true)
        #expect(refused?.message.hasPrefix("messages.0.content.1") == true)
    }

    @Test func rolesOtherThanUserAndAssistantAreRefused() {
        let refused = refusal(request("", messages: #"[{"role":"system","content":"Be kind."}]"#))
        #expect(refused?.param == "messages")
        #expect(refused?.message.contains("top-level system") == true)
        #expect(refusal(request("", messages: #"[{"role":"tool","content":"x"}]"#))?.param == "messages")
    }

    @Test func toolBlocksInTheWrongTurnAreRefused() {
        let result = #"[{"role":"assistant","content":[{"type":"tool_result","tool_use_id":"t","content":"x"}]}]"#
        #expect(refusal(request("", messages: result))?.message.contains("assistant message") == true)
        let use = #"[{"role":"user","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]}]"#
        #expect(refusal(request("", messages: use))?.message.contains("user message") == true)
    }

    @Test func fileImageSourcesAndOddToolResultContentAreRefused() {
        let file = #"[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f_1"}}]}]"#
        #expect(refusal(request("", messages: file))?.message.contains("'file'") == true)
        let document = #"""
            [{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"document"}]}]}]
            """#
        #expect(refusal(request("", messages: document))?.message.contains("'document'") == true)
    }

    @Test func serverToolsAreRefusedByName() {
        let tools = #""tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3}]"#
        let refused = refusal(request(tools))
        #expect(refused?.param == "tools")
        #expect(refused?.message.contains("web_search_20250305") == true)
        let custom = #""tools":[{"type":"custom","name":"f","input_schema":{"type":"object"}}]"#
        #expect(refusal(request(custom)) == nil)
    }

    @Test func toolChoices() throws {
        #expect(try decode(request(#""tool_choice":{"type":"none"}"#)).toolChoice == .disabled)
        let named = try decode(request(#""tool_choice":{"type":"tool","name":"f","disable_parallel_tool_use":true}"#))
        #expect(named.toolChoice == .tool(name: "f"))
        #expect(named.parallelToolCalls == false)
        #expect(try decode(request(#""tool_choice":{"type":"any"}"#)).parallelToolCalls == nil)
        #expect(refusal(request(#""tool_choice":{"type":"tool"}"#))?.param == "tool_choice")
        #expect(refusal(request(#""tool_choice":"auto""#))?.param == "tool_choice")
    }

    @Test func thinkingModes() throws {
        #expect(try decode(request(#""thinking":{"type":"adaptive"}"#)).thinking == nil)
        #expect(try decode(request(#""thinking":{"type":"disabled"}"#)).thinking == .disabled)
        #expect(refusal(request(#""thinking":{"type":"enabled"}"#))?.param == "thinking")
        #expect(refusal(request(#""thinking":{"type":"maximal"}"#))?.param == "thinking")
    }

    @Test func wrongFieldTypesNameTheField() {
        #expect(refusal(request(#""temperature":"hot""#))?.param == "temperature")
        #expect(refusal(request(#""top_k":1.5"#))?.param == "top_k")
        #expect(refusal(request(#""stream":"yes""#))?.param == "stream")
        #expect(refusal(request(#""stop_sequences":"END""#))?.param == "stop_sequences")
        #expect(
            refusal(request(#""mcp_servers":[{"type":"url","url":"https://x","name":"x"}]"#))?.param == "mcp_servers")
        #expect(refusal(request(#""temperature":null,"service_tier":"auto""#)) == nil)
    }

    @Test func toolUseInputKeepsMemberOrderAndNumberText() throws {
        let arguments = #"{"zeta":1.0,"alpha":12345678901234567890,"nested":{"b":true,"a":[null,-0.5e+10]}}"#
        let body =
            #"{"model":"m","max_tokens":8,"messages":[{"role":"assistant","content":["#
            + #"{"type":"tool_use","id":"toolu_1","name":"f","input": "# + arguments + "}]}]}"
        let request = try AnthropicMessagesRequestDecoder.decode(Array(body.utf8))
        #expect(
            request.messages[0].content == [
                .toolCall(CanonicalToolCall(id: "toolu_1", name: "f", arguments: arguments))
            ])
    }

    @Test func flagsAndIntegersAreReadAsWhatTheyAre() {
        // A JSON `1` is not `true`, and `true` is not an integer.
        #expect(throws: GatewayError.self) {
            try AnthropicMessagesRequestDecoder.decode(
                Array(#"{"model":"m","max_tokens":8,"stream":1,"messages":[{"role":"user","content":"hi"}]}"#.utf8))
        }
        #expect(throws: GatewayError.self) {
            try AnthropicMessagesRequestDecoder.decode(
                Array(#"{"model":"m","max_tokens":true,"messages":[{"role":"user","content":"hi"}]}"#.utf8))
        }
    }
}

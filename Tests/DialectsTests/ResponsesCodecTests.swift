import GatewayCore
import Testing

@testable import Dialects

/// The Responses front: request items into the canonical model, answers and streams back
/// (docs/wire/openai-responses.md).
@Suite struct ResponsesCodecTests {
    private func decode(_ json: String, history: [JSONValue] = []) throws(GatewayError) -> CanonicalRequest {
        try ResponsesRequestDecoder.decode(Array(json.utf8), history: history)
    }

    private func refusal(_ json: String) -> GatewayError? {
        do throws(GatewayError) {
            _ = try decode(json)
            return nil
        } catch {
            return error
        }
    }

    private let envelope = ResponsesEnvelope(
        id: "resp_abc", createdAt: 100, model: "claude-x",
        requestBody: Array(
            #"{"model":"m","input":"hi","tools":[{"type":"function","name":"f"}],"temperature":0.5}"#.utf8))

    @Test func itemsBecomeTurns() throws {
        let request = try decode(
            #"""
            {"model":"m","instructions":"Be terse.","input":[
              {"role":"developer","content":"English only."},
              {"type":"message","role":"user","content":[{"type":"input_text","text":"Weather?"},
                {"type":"input_image","image_url":"data:image/png;base64,iVBO","detail":"low"}]},
              {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"thinking"}],"encrypted_content":"sig"},
              {"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
              {"type":"function_call","call_id":"call_2","name":"get_time","arguments":"{}"},
              {"type":"function_call_output","call_id":"call_1","output":"18C"},
              {"type":"function_call_output","call_id":"call_2","output":[{"type":"input_text","text":"noon"}]},
              {"role":"assistant","content":[{"type":"output_text","text":"18C at noon."}]},
              {"role":"user","content":"And Rome?"}],
             "tools":[{"type":"function","name":"get_weather","parameters":{"type":"object"},"strict":true}],
             "tool_choice":{"type":"function","name":"get_weather"},"parallel_tool_calls":false,
             "max_output_tokens":50,"temperature":0.2,"top_p":0.9,
             "text":{"format":{"type":"json_schema","name":"w","schema":{"type":"object"},"strict":true}},
             "reasoning":{"effort":"low"},"safety_identifier":"u1","metadata":{"t":"1"},"stream":true}
            """#)
        #expect(request.system == ["Be terse.", "English only."])
        #expect(request.messages.map(\.role) == [.user, .assistant, .tool, .tool, .assistant, .user])
        #expect(request.messages[0].content.count == 2)
        #expect(
            request.messages[1].content == [
                .thinking(text: "thinking", signature: "sig"),
                .toolCall(CanonicalToolCall(id: "call_1", name: "get_weather", arguments: #"{"city":"Paris"}"#)),
                .toolCall(CanonicalToolCall(id: "call_2", name: "get_time", arguments: "{}")),
            ])
        #expect(
            request.messages[3].content == [
                .toolResult(CanonicalToolResult(toolCallID: "call_2", content: [.text("noon")]))
            ])
        #expect(request.tools.map(\.name) == ["get_weather"])
        #expect(request.toolChoice == .tool(name: "get_weather"))
        #expect(request.parallelToolCalls == false)
        #expect(request.sampling.maxOutputTokens == 50)
        #expect(request.sampling.temperature == 0.2)
        #expect(
            request.responseFormat == .jsonSchema(name: "w", schema: Array(#"{"type":"object"}"#.utf8), strict: true))
        #expect(request.thinking == .effort("low"))
        #expect(request.user == "u1")
        #expect(request.stream && request.includeUsage)
    }

    @Test func historyComesBeforeTheInput() throws {
        let history: [JSONValue] = [
            .object(
                JSONObject([.init(key: "role", value: .string("user")), .init(key: "content", value: .string("A"))])),
            .object(
                JSONObject([
                    .init(key: "type", value: .string("message")), .init(key: "role", value: .string("assistant")),
                    .init(
                        key: "content",
                        value: .array([
                            .object(
                                JSONObject([
                                    .init(key: "type", value: .string("output_text")),
                                    .init(key: "text", value: .string("B")),
                                ]))
                        ])),
                ])),
        ]
        let request = try decode(#"{"model":"m","input":"C","instructions":"new"}"#, history: history)
        #expect(
            request.messages == [
                CanonicalMessage(role: .user, content: [.text("A")]),
                CanonicalMessage(role: .assistant, content: [.text("B")]),
                CanonicalMessage(role: .user, content: [.text("C")]),
            ])
        #expect(request.system == ["new"])
    }

    @Test func allowedToolsNarrowTheTools() throws {
        let request = try decode(
            #"{"model":"m","input":"x","tools":[{"type":"function","name":"a"},{"type":"function","name":"b"}],"#
                + #""tool_choice":{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"b"}]}}"#
        )
        #expect(request.tools.map(\.name) == ["b"])
        #expect(request.toolChoice == .required)
    }

    @Test func whatCannotBeTranslatedIsRefusedNamingTheField() {
        let cases: [(String, String)] = [
            (#"{"model":"m","input":"x","tools":[{"type":"web_search"}]}"#, "tools[0].type"),
            (#"{"model":"m","input":"x","background":true}"#, "background"),
            (#"{"model":"m","input":"x","conversation":"conv_1"}"#, "conversation"),
            (#"{"model":"m","input":"x","tool_choice":{"type":"file_search"}}"#, "tool_choice"),
            (#"{"model":"m","input":[{"type":"item_reference","id":"msg_1"}]}"#, "input[0]"),
            (
                #"{"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"f"}]}]}"#,
                "input[0].content[0]"
            ),
            (
                #"{"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"f"}]}]}"#,
                "input[0].content[0]"
            ),
            (#"{"model":"m","input":[{"type":"function_call_output","output":"x"}]}"#, "input[0]"),
        ]
        for (body, param) in cases {
            let error = refusal(body)
            #expect(error?.status == 400, "\(body)")
            #expect(error?.param == param, "\(body)")
        }
    }

    @Test func aPlainAnswerHasEveryItemAndTheEcho() throws {
        let response = CanonicalResponse(
            id: "x", model: "claude-x",
            content: [
                .thinking(text: "hmm", signature: "sig"), .text("Hello"), .text(" there"),
                .toolCall(CanonicalToolCall(id: "toolu_1", name: "f", arguments: "{}")),
                .redactedThinking(data: "opaque"),
            ],
            stopReason: .toolCalls,
            usage: TokenUsage(promptTokens: 10, completionTokens: 5, cachedPromptTokens: 4, reasoningTokens: 2))
        let object = try #require(FoundationJSON.object(ResponsesResponseEncoder.encode(response, envelope: envelope)))
        #expect(object["id"] as? String == "resp_abc")
        #expect(object["object"] as? String == "response")
        #expect(object["status"] as? String == "completed")
        #expect(object["temperature"] as? Double == 0.5)
        let output = try #require(object["output"] as? [[String: Any]])
        #expect(output.map { $0["type"] as? String } == ["reasoning", "message", "function_call", "reasoning"])
        #expect(output.map { $0["id"] as? String } == ["rs_abc_0", "msg_abc_1", "fc_abc_2", "rs_abc_3"])
        #expect(((output[1]["content"] as? [[String: Any]])?.first?["text"]) as? String == "Hello there")
        #expect(output[2]["call_id"] as? String == "toolu_1")
        #expect(output[0]["encrypted_content"] as? String == "sig")
        #expect(output[3]["encrypted_content"] as? String == "llmgw-redacted:opaque")
        let usage = try #require(object["usage"] as? [String: Any])
        #expect(usage["input_tokens"] as? Int == 10)
        #expect(usage["total_tokens"] as? Int == 15)
        #expect((usage["input_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 4)
        #expect((usage["output_tokens_details"] as? [String: Any])?["reasoning_tokens"] as? Int == 2)
        let tools = try #require(object["tools"] as? [[String: Any]])
        #expect(Set(tools[0].keys) == ["type", "name", "description", "parameters", "strict"])
        for key in [
            "completed_at", "incomplete_details", "previous_response_id", "instructions", "error", "tool_choice",
            "truncation", "parallel_tool_calls", "text", "top_p", "presence_penalty", "frequency_penalty",
            "top_logprobs", "reasoning", "max_output_tokens", "max_tool_calls", "store", "background",
            "service_tier", "metadata", "safety_identifier", "prompt_cache_key",
        ] {
            #expect(object.keys.contains(key), "\(key)")
        }
    }

    @Test func aLengthStopIsIncomplete() throws {
        let response = CanonicalResponse(id: "x", model: "m", content: [.text("cut")], stopReason: .length)
        let object = try #require(FoundationJSON.object(ResponsesResponseEncoder.encode(response, envelope: envelope)))
        #expect(object["status"] as? String == "incomplete")
        #expect((object["incomplete_details"] as? [String: Any])?["reason"] as? String == "max_output_tokens")
        #expect(((object["output"] as? [[String: Any]])?.first?["status"]) as? String == "incomplete")
        #expect(object.keys.contains("completed_at") && !(object["completed_at"] is Int))
    }

    /// Named events numbered from 0, in the order the SDK's `responses.stream()` needs, ending with
    /// the same object the plain answer is.
    @Test func aStreamHasTheSDKsOrderAndEndsWithThePlainObject() throws {
        let content: [CanonicalContentPart] = [
            .thinking(text: "ab", signature: "sig"), .text("Hi!"),
            .toolCall(CanonicalToolCall(id: "call_9", name: "f", arguments: #"{"a":1}"#)),
        ]
        var encoder = ResponsesStreamEncoder(envelope: envelope)
        var bytes = encoder.encode(.messageStart(id: "up", model: "m"))
        for event: CanonicalStreamEvent in [
            .thinkingDelta("a"), .thinkingDelta("b"), .signatureDelta("sig"), .textDelta("Hi"), .textDelta("!"),
            .toolCallStart(index: 0, id: "call_9", name: "f"), .toolCallArgumentsDelta(index: 0, fragment: ""),
            .toolCallArgumentsDelta(index: 0, fragment: #"{"a":"#), .toolCallArgumentsDelta(index: 0, fragment: "1}"),
            .finish(.toolCalls, stopSequence: nil), .usage(TokenUsage(promptTokens: 3, completionTokens: 4)),
        ] {
            bytes += encoder.encode(event)
        }
        bytes += encoder.end()
        let text = String(decoding: bytes, as: UTF8.self)
        let blocks = text.components(separatedBy: "\n\n").filter { !$0.isEmpty }
        var types: [String] = []
        for (number, block) in blocks.enumerated() {
            let lines = block.components(separatedBy: "\n")
            let name = String(try #require(lines.first).dropFirst("event: ".count))
            let data = try #require(FoundationJSON.object(Array(lines[1].dropFirst("data: ".count).utf8)))
            #expect(data["type"] as? String == name)
            #expect(data["sequence_number"] as? Int == number)
            types.append(name)
        }
        #expect(
            types == [
                "response.created", "response.in_progress",
                "response.output_item.added", "response.reasoning_summary_part.added",
                "response.reasoning_summary_text.delta", "response.reasoning_summary_text.delta",
                "response.reasoning_summary_text.done", "response.reasoning_summary_part.done",
                "response.output_item.done",
                "response.output_item.added", "response.content_part.added", "response.output_text.delta",
                "response.output_text.delta", "response.output_text.done", "response.content_part.done",
                "response.output_item.done",
                "response.output_item.added", "response.function_call_arguments.delta",
                "response.function_call_arguments.delta", "response.function_call_arguments.done",
                "response.output_item.done", "response.completed",
            ])
        #expect(!text.contains("[DONE]"))
        let plain = ResponsesResponseEncoder.encode(
            CanonicalResponse(
                id: "x", model: "m", content: content, stopReason: .toolCalls,
                usage: TokenUsage(promptTokens: 3, completionTokens: 4)),
            envelope: envelope)
        #expect(try #require(encoder.finalResponse) == plain)
    }

    @Test func aStreamErrorIsNestedAndEndsTheStream() throws {
        var encoder = ResponsesStreamEncoder(envelope: envelope)
        var bytes = encoder.encode(.messageStart(id: "up", model: "m"))
        bytes += encoder.encode(.textDelta("x"))
        bytes += encoder.encode(.error(CanonicalError(.overloaded, message: "busy")))
        #expect(encoder.isEnded)
        let last = try #require(
            String(decoding: bytes, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }.last)
        #expect(last.hasPrefix("event: error\ndata: "))
        let data = try #require(FoundationJSON.object(Array(last.dropFirst("event: error\ndata: ".count).utf8)))
        #expect(data["sequence_number"] as? Int == 5)
        let error = try #require(data["error"] as? [String: Any])
        #expect(error["message"] as? String == "busy")
        #expect(error.keys.contains("param") && error.keys.contains("code") && error.keys.contains("type"))
        #expect(encoder.finalResponse == nil)
    }

    /// A passed-through stream: the preamble is held, an error before output fails the attempt,
    /// the terminal event's usage and object are read.
    @Test func theRelayHoldsThePreambleAndReadsTheEnd() throws {
        func event(_ type: String, _ sequence: Int, _ rest: String = "") -> String {
            "event: \(type)\ndata: {\"type\":\"\(type)\",\"sequence_number\":\(sequence)\(rest)}\n\n"
        }
        var relay = ResponsesStreamRelay()
        let preamble = event("response.created", 0, #","response":{"id":"resp_1"}"#) + event("response.in_progress", 1)
        #expect(relay.push(Array(preamble.utf8)).isEmpty)
        #expect(!relay.committed)
        let delta = event("response.output_text.delta", 2, #","delta":"Hi""#)
        #expect(String(decoding: relay.push(Array(delta.utf8)), as: UTF8.self) == preamble + delta)
        let done = event(
            "response.completed", 3,
            #","response":{"id":"resp_1","usage":{"input_tokens":5,"input_tokens_details":{"cached_tokens":2},"#
                + #""output_tokens":7,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":12}}"#)
        _ = relay.push(Array(done.utf8))
        #expect(relay.sawDone)
        #expect(
            relay.usage == TokenUsage(promptTokens: 5, completionTokens: 7, cachedPromptTokens: 2, reasoningTokens: 1))
        #expect(relay.finalResponse.map { String(decoding: $0, as: UTF8.self) }?.hasPrefix(#"{"id":"resp_1""#) == true)
        let cut = String(
            decoding: relay.cutEvent(GatewayError(.upstreamError, "x"), dialect: .responses), as: UTF8.self)
        #expect(cut.contains(#""sequence_number":4"#))

        var failing = ResponsesStreamRelay()
        _ = failing.push(Array(event("response.created", 0).utf8))
        #expect(failing.push(Array(event("error", 1, #","error":{"type":"server_error","message":"x"}"#).utf8)).isEmpty)
        #expect(failing.sawError && !failing.committed)
    }
}

import GatewayCore
import GatewayTesting
import Testing

@testable import Dialects

@Suite struct AnthropicStreamDecoderTests {
    /// Feeds `transcript` in `chunkSize` pieces through the decoder and an OpenAI stream encoder.
    private func translate(
        _ transcript: [UInt8],
        includeUsage: Bool,
        chunkSize: Int
    ) -> (decoder: AnthropicStreamDecoder, events: [CanonicalStreamEvent], output: [UInt8]) {
        var decoder = AnthropicProviderCodec.streamDecoder()
        var encoder = OpenAIStreamEncoder(id: "x", created: 0, includeUsage: includeUsage)
        var events: [CanonicalStreamEvent] = []
        events += feed(transcript, inChunksOf: chunkSize) { decoder.push($0) }
        events += decoder.finish()
        var output: [UInt8] = []
        for event in events { output += encoder.encode(event) }
        if !encoder.isEnded { output += encoder.end() }
        return (decoder, events, output)
    }

    @Test(arguments: [
        ("stream_thinking_tool_use.sse", "stream_from_anthropic_thinking_tool_use.sse", true),
        ("stream_text.sse", "stream_from_anthropic_text.sse", false),
        ("stream_text.sse", "stream_from_anthropic_text_usage.sse", true),
        ("stream_tool_calls.sse", "stream_from_anthropic_tool_calls.sse", true),
        ("stream_error.sse", "stream_from_anthropic_error.sse", false),
    ])
    func translatesTranscriptsToOpenAIChunks(anthropic: String, openAI: String, includeUsage: Bool) throws {
        let transcript = try Fixture.bytes("anthropic/" + anthropic)
        let expected = try JSONComparison.events(try Fixture.bytes("openai/" + openAI))
        for chunkSize in [1, 7, 64, transcript.count] {
            let (_, _, output) = translate(transcript, includeUsage: includeUsage, chunkSize: chunkSize)
            #expect(try JSONComparison.events(output) == expected, "chunk size \(chunkSize)")
        }
    }

    @Test func numbersToolCallsByToolBlockAndConcatenatesArguments() throws {
        let (decoder, events, _) = translate(
            try Fixture.bytes("anthropic/stream_tool_calls.sse"),
            includeUsage: false,
            chunkSize: 11
        )
        var arguments: [Int: String] = [:]
        var starts: [Int: String] = [:]
        for event in events {
            if case .toolCallStart(let index, let id, _) = event { starts[index] = id }
            if case .toolCallArgumentsDelta(let index, let fragment) = event {
                arguments[index, default: ""] += fragment
            }
        }
        #expect(starts == [0: "toolu_P1", 1: "toolu_R2"])
        #expect(arguments == [0: #"{"city": "Paris", "unit": "celsius"}"#, 1: #"{"city": "Rome"}"#])
        #expect(decoder.isComplete)
        #expect(decoder.usage == TokenUsage(promptTokens: 61, completionTokens: 38))
    }

    @Test func keepsThinkingAndSignature() throws {
        let (_, events, _) = translate(
            try Fixture.bytes("anthropic/stream_thinking_tool_use.sse"),
            includeUsage: false,
            chunkSize: 100
        )
        #expect(events.contains(.signatureDelta("EqQBCgIYAhIM1gbcDa9GJwZA")))
        #expect(events.contains(.thinkingDelta(" call the tool.")))
        #expect(events.first == .messageStart(id: "msg_01Q9", model: "claude-sonnet-4-5"))
        #expect(events.contains(.finish(.toolCalls, stopSequence: nil)))
    }

    @Test func usageIsCumulativeAndCountsCacheTokens() throws {
        let (decoder, events, _) = translate(
            try Fixture.bytes("anthropic/stream_text.sse"), includeUsage: true, chunkSize: 5)
        let usages = events.compactMap { event -> TokenUsage? in
            if case .usage(let usage) = event { return usage }
            return nil
        }
        let expectedStart = TokenUsage(
            promptTokens: 16, completionTokens: 1, cachedPromptTokens: 4, cacheCreationPromptTokens: 3)
        let expectedEnd = TokenUsage(
            promptTokens: 16, completionTokens: 2, cachedPromptTokens: 4, cacheCreationPromptTokens: 3)
        #expect(usages == [expectedStart, expectedEnd])
        #expect(decoder.usage == expectedEnd)
    }

    @Test func anInStreamErrorEndsTheStream() throws {
        var transcript = try Fixture.bytes("anthropic/stream_error.sse")
        transcript += Array("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".utf8)
        let (decoder, events, output) = translate(transcript, includeUsage: true, chunkSize: 9)
        #expect(decoder.isFailed)
        guard case .error(let error) = events.last else {
            Issue.record("no error event")
            return
        }
        #expect(error.kind == .overloaded)
        #expect(!output.text.contains("[DONE]"))
        #expect(output.text.hasSuffix("\"code\":null}}\n\n"))
    }

    @Test func aCutStreamEndsWithAnError() throws {
        let transcript = try Fixture.bytes("anthropic/stream_text.sse")
        let cut = Array(transcript.prefix(transcript.count / 2))
        let (decoder, events, output) = translate(cut, includeUsage: false, chunkSize: 4096)
        #expect(decoder.isFailed)
        #expect(!decoder.isComplete)
        guard case .error(let error) = events.last else {
            Issue.record("no error event")
            return
        }
        #expect(error.kind == .server)
        #expect(!output.text.contains("[DONE]"))
    }

    @Test func aMalformedEventFails() {
        var decoder = AnthropicStreamDecoder()
        let events = decoder.push(Array("event: message_start\ndata: {not json\n\n".utf8))
        #expect(decoder.isFailed)
        #expect(events.count == 1)
        #expect(decoder.push(Array("event: ping\ndata: {}\n\n".utf8)).isEmpty)
        #expect(decoder.finish().isEmpty)
    }

    @Test func redactedThinkingArrivesWhole() {
        var decoder = AnthropicStreamDecoder()
        let events = decoder.push(
            Array(
                """
                event: content_block_start
                data: {"type":"content_block_start","index":0,"content_block":{"type":"redacted_thinking","data":"EmwKAhgB"}}

                event: content_block_stop
                data: {"type":"content_block_stop","index":0}


                """.utf8
            )
        )
        #expect(events == [.redactedThinking(data: "EmwKAhgB")])
    }

    @Test func wholeToolUseInputKeepsMemberOrderAndNumberText() throws {
        let arguments = #"{"zeta":1.0,"alpha":12345678901234567890,"nested":{"b":true,"a":[null,-0.5e+10]}}"#
        let transcript =
            "event: content_block_start\ndata: "
            + #"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":"#
            + arguments + "}}\n\n"
        var decoder = AnthropicStreamDecoder()
        let events = decoder.push(Array(transcript.utf8))
        #expect(
            events == [
                .toolCallStart(index: 0, id: "toolu_1", name: "f"),
                .toolCallArgumentsDelta(index: 0, fragment: arguments),
            ])
    }
}

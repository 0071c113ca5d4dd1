import GatewayCore
import GatewayTesting
import Testing

@testable import Dialects

@Suite struct GeminiStreamDecoderTests {
    /// Feeds `transcript` in `chunkSize` pieces through a `GeminiToOpenAIStream`.
    private func translate(
        _ transcript: [UInt8],
        includeUsage: Bool,
        chunkSize: Int
    ) -> (translator: GeminiToOpenAIStream, output: [UInt8]) {
        var translator = GeminiToOpenAIStream(model: "gpt-x", includeUsage: includeUsage, created: 0)
        var output: [UInt8] = []
        output += feed(transcript, inChunksOf: chunkSize) { translator.push($0) }
        output += translator.finish()
        return (translator, output)
    }

    private func decode(_ transcript: [UInt8], chunkSize: Int = 4096) -> (GeminiStreamDecoder, [CanonicalStreamEvent]) {
        var decoder = GeminiProviderCodec.streamDecoder()
        var events: [CanonicalStreamEvent] = []
        events += feed(transcript, inChunksOf: chunkSize) { decoder.push($0) }
        events += decoder.finish()
        return (decoder, events)
    }

    @Test(arguments: [
        ("stream_tool_call.sse", "openai_stream_tool_call.sse", true),
        ("stream_text.sse", "openai_stream_text.sse", false),
        ("stream_error.sse", "openai_stream_error.sse", false),
    ])
    func translatesTranscriptsToOpenAIChunks(gemini: String, openAI: String, includeUsage: Bool) throws {
        let transcript = try Fixture.bytes("gemini/" + gemini)
        let expected = try JSONComparison.events(try Fixture.bytes("gemini/" + openAI))
        for chunkSize in [1, 7, transcript.count] {
            let (_, output) = translate(transcript, includeUsage: includeUsage, chunkSize: chunkSize)
            #expect(try JSONComparison.events(output) == expected, "chunk size \(chunkSize)")
        }
    }

    @Test func theFixtureIsCRLFFramed() throws {
        let transcript = try Fixture.bytes("gemini/stream_tool_call.sse")
        #expect(transcript.starts(with: Array("data: ".utf8)))
        #expect(Array(transcript.suffix(4)) == [0x0D, 0x0A, 0x0D, 0x0A])
        #expect(!transcript.text.contains("\n\n"))
    }

    @Test func decodesTextAWholeFunctionCallUsageAndFinish() throws {
        let (decoder, events) = decode(try Fixture.bytes("gemini/stream_tool_call.sse"), chunkSize: 7)
        let lastUsage = TokenUsage(promptTokens: 31, completionTokens: 57, reasoningTokens: 48)
        #expect(events.first == .messageStart(id: "mQ2kZ8r1", model: "gemini-2.5-flash"))
        #expect(events.contains(.textDelta("Checking")))
        #expect(events.contains(.toolCallStart(index: 0, id: "call_0__ts_CiQBVKhc", name: "get_weather")))
        #expect(events.contains(.toolCallArgumentsDelta(index: 0, fragment: #"{"city":"Rome"}"#)))
        #expect(events.last == .finish(.toolCalls, stopSequence: nil))
        #expect(decoder.isComplete)
        #expect(decoder.usage == lastUsage)
    }

    @Test func thoughtsAreThinkingAndEveryChunkMayCarrySTOP() {
        let transcript = Array(
            """
            data: {"candidates":[{"content":{"parts":[{"text":"hmm","thought":true,"thoughtSignature":"s"}]},"finishReason":"STOP"}]}

            data: {"candidates":[{"content":{"parts":[{"text":"Hi"}]},"finishReason":"STOP"}]}

            data: {"candidates":[{"content":{"parts":[{"functionCall":{"name":"a","args":{}}},{"functionCall":{"name":"b","args":{"x":1}}}]},"finishReason":"STOP"}]}


            """.utf8)
        let (decoder, events) = decode(transcript, chunkSize: 3)
        #expect(
            events == [
                .messageStart(id: "", model: ""), .thinkingDelta("hmm"), .signatureDelta("s"), .textDelta("Hi"),
                .toolCallStart(index: 0, id: "call_0", name: "a"), .toolCallArgumentsDelta(index: 0, fragment: "{}"),
                .toolCallStart(index: 1, id: "call_1", name: "b"),
                .toolCallArgumentsDelta(index: 1, fragment: #"{"x":1}"#), .finish(.toolCalls, stopSequence: nil),
            ])
        #expect(decoder.isComplete)
    }

    @Test func anInStreamErrorEndsTheStreamWithoutDone() throws {
        let (translator, output) = translate(
            try Fixture.bytes("gemini/stream_error.sse"), includeUsage: true, chunkSize: 9)
        #expect(translator.sawError)
        #expect(!translator.sawDone)
        #expect(!output.text.contains("[DONE]"))
        let (decoder, events) = decode(try Fixture.bytes("gemini/stream_error.sse"))
        #expect(decoder.isFailed)
        guard case .error(let error) = events.last else {
            Issue.record("no error event")
            return
        }
        #expect(error.kind == .overloaded)
    }

    @Test func aCutStreamEndsWithAnError() throws {
        let transcript = try Fixture.bytes("gemini/stream_text.sse")
        let firstEvent = Array(transcript.prefix(through: transcript.firstIndex(of: 0x0A)! + 1))
        let (decoder, events) = decode(firstEvent)
        #expect(decoder.isFailed)
        guard case .error(let error) = events.last else {
            Issue.record("no error event")
            return
        }
        #expect(error.kind == .server)
        let (_, output) = translate(firstEvent, includeUsage: false, chunkSize: 5)
        #expect(!output.text.contains("[DONE]"))
    }

    @Test func aRawJSONErrorTailFailsTheStream() throws {
        var transcript = try Fixture.bytes("gemini/stream_text.sse")
        transcript += try Fixture.bytes("gemini/error_overloaded.json")
        let (decoder, events) = decode(transcript, chunkSize: 7)
        #expect(decoder.isFailed)
        guard case .error(let error) = events.last else {
            Issue.record("no error event")
            return
        }
        #expect(error.kind == .overloaded)
    }

    @Test func aLastEventWithoutItsBlankLineStillCounts() {
        let transcript = Array(
            #"data: {"candidates":[{"content":{"parts":[{"text":"ok"}]},"finishReason":"MAX_TOKENS"}]}"#.utf8)
        let (decoder, events) = decode(transcript)
        #expect(events.contains(.textDelta("ok")))
        #expect(events.last == .finish(.length, stopSequence: nil))
        #expect(decoder.isComplete)
    }

    @Test func aBlockedPromptFinishesAsContentFilter() {
        let transcript = Array("data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}\r\n\r\n".utf8)
        let (decoder, events) = decode(transcript)
        #expect(events.last == .finish(.contentFilter, stopSequence: nil))
        #expect(decoder.isComplete)
    }

    @Test func aMalformedEventFails() {
        var decoder = GeminiStreamDecoder()
        let events = decoder.push(Array("data: {not json\n\n".utf8))
        #expect(decoder.isFailed)
        #expect(events.count == 1)
        #expect(decoder.push(Array("data: {}\n\n".utf8)).isEmpty)
        #expect(decoder.finish().isEmpty)
    }
}

import GatewayCore
import Testing

@testable import Dialects

/// ConverseStream frames into canonical events (docs/wire/bedrock.md §4).
@Suite struct BedrockStreamDecoderTests {
    /// The wire notes' transcript (`Fixtures/bedrock/stream_text_tool.events`) as binary frames.
    static func transcript() throws -> [UInt8] {
        let lines = try Fixture.bytes("bedrock/stream_text_tool.events").text.split(separator: "\n")
        return lines.flatMap { line -> [UInt8] in
            let type = String(line.prefix { $0 != " " })
            let payload = String(line.dropFirst(type.count).drop { $0 == " " })
            return EventStreamFrame.event(type, payload)
        }
    }

    static let expected: [CanonicalStreamEvent] = [
        .messageStart(id: "", model: ""),
        .textDelta("Checking"),
        .textDelta(" Rome."),
        .toolCallStart(index: 0, id: "tooluse_Zx81", name: "get_weather"),
        .toolCallArgumentsDelta(index: 0, fragment: #"{"city": "Ro"#),
        .toolCallArgumentsDelta(index: 0, fragment: #"me"}"#),
        .usage(TokenUsage(promptTokens: 31, completionTokens: 22)),
        .finish(.toolCalls, stopSequence: nil),
    ]

    @Test func theTranscriptBecomesCanonicalEvents() throws {
        var decoder = BedrockStreamDecoder()
        var events = decoder.push(try Self.transcript())
        #expect(decoder.isComplete)
        events += decoder.finish()
        #expect(events == Self.expected)
        #expect(decoder.usage == TokenUsage(promptTokens: 31, completionTokens: 22))
    }

    /// The finish waits for `metadata`, which comes after `messageStop`.
    @Test func theFinishIsHeldUntilTheUsage() throws {
        var decoder = BedrockStreamDecoder()
        let stop = decoder.push(EventStreamFrame.event("messageStop", #"{"stopReason":"end_turn"}"#))
        #expect(!stop.contains(.finish(.stop, stopSequence: nil)))
        #expect(!decoder.isComplete)
        let metadata = decoder.push(
            EventStreamFrame.event(
                "metadata",
                #"{"usage":{"inputTokens":5,"outputTokens":2,"totalTokens":107,"cacheReadInputTokens":60,"cacheWriteInputTokens":40}}"#
            ))
        let usage = TokenUsage(
            promptTokens: 105, completionTokens: 2, cachedPromptTokens: 60, cacheCreationPromptTokens: 40)
        #expect(metadata == [.usage(usage), .finish(.stop, stopSequence: nil)])
        #expect(decoder.isComplete)
    }

    @Test func aBodyEndingAfterMessageStopWithoutMetadataStillFinishes() {
        var decoder = BedrockStreamDecoder()
        _ = decoder.push(EventStreamFrame.event("messageStart", #"{"role":"assistant"}"#))
        _ = decoder.push(EventStreamFrame.event("messageStop", #"{"stopReason":"max_tokens"}"#))
        #expect(decoder.finish() == [.finish(.length, stopSequence: nil)])
        #expect(decoder.isComplete)
    }

    /// Any split of the byte stream gives the same events.
    @Test func splitsAtEveryPositionGiveTheSameEvents() throws {
        let bytes = try Self.transcript()
        for cut in stride(from: 0, through: bytes.count, by: 1) {
            var decoder = BedrockStreamDecoder()
            var events = decoder.push(Array(bytes[..<cut]))
            events += decoder.push(Array(bytes[cut...]))
            events += decoder.finish()
            #expect(events == Self.expected, "cut at \(cut)")
        }
    }

    @Test func reasoningDeltasBecomeThinking() {
        var decoder = BedrockStreamDecoder()
        let events = decoder.push(
            EventStreamFrame.event("messageStart", #"{"role":"assistant"}"#)
                + EventStreamFrame.event(
                    "contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"reasoningContent":{"text":"Hmm"}}}"#)
                + EventStreamFrame.event(
                    "contentBlockDelta", #"{"contentBlockIndex":0,"delta":{"reasoningContent":{"signature":"sig=="}}}"#)
                + EventStreamFrame.event(
                    "contentBlockDelta",
                    #"{"contentBlockIndex":1,"delta":{"reasoningContent":{"redactedContent":"cmVk"}}}"#))
        #expect(
            events == [
                .messageStart(id: "", model: ""), .thinkingDelta("Hmm"), .signatureDelta("sig=="),
                .redactedThinking(data: "cmVk"),
            ])
    }

    @Test func anExceptionFrameFailsTheStreamWithItsClass() {
        var decoder = BedrockStreamDecoder()
        _ = decoder.push(EventStreamFrame.event("messageStart", #"{"role":"assistant"}"#))
        let events = decoder.push(EventStreamFrame.exception("throttlingException", #"{"message":"Rate exceeded"}"#))
        guard case .error(let error) = events.last else { return #expect(Bool(false), "\(events)") }
        #expect(error.kind == .rateLimited)
        #expect(error.message == "Rate exceeded")
        #expect(error.upstreamType == "ThrottlingException")
        #expect(decoder.push(EventStreamFrame.event("messageStop", #"{"stopReason":"end_turn"}"#)).isEmpty)
        #expect(decoder.finish().isEmpty)
        #expect(!decoder.isComplete)
    }

    @Test func aModelStreamErrorIsAServerError() {
        var decoder = BedrockStreamDecoder()
        let events = decoder.push(
            EventStreamFrame.exception(
                "modelStreamErrorException", #"{"message":"boom","originalStatusCode":500,"originalMessage":"x"}"#))
        guard case .error(let error) = events.last else { return #expect(Bool(false)) }
        #expect(error.kind == .server && error.isRetryable)
    }

    @Test func aCorruptFrameFailsTheStreamClearly() throws {
        var bytes = try Self.transcript()
        bytes[bytes.count / 2] ^= 0x40
        var decoder = BedrockStreamDecoder()
        let events = decoder.push(bytes)
        guard case .error(let error) = events.last else { return #expect(Bool(false), "\(events)") }
        #expect(error.message.contains("CRC"))
    }

    @Test func aCutStreamFails() throws {
        let bytes = try Self.transcript()
        var decoder = BedrockStreamDecoder()
        _ = decoder.push(Array(bytes.prefix(bytes.count - 400)))  // inside a tool delta
        let events = decoder.finish()
        guard case .error(let error) = events.last else { return #expect(Bool(false), "\(events)") }
        #expect(error.message.contains("ended before the answer was complete"))
    }

    @Test func aMalformedToolUseStopIsAnError() {
        var decoder = BedrockStreamDecoder()
        let events = decoder.push(EventStreamFrame.event("messageStop", #"{"stopReason":"malformed_tool_use"}"#))
        guard case .error(let error) = events.last else { return #expect(Bool(false), "\(events)") }
        #expect(error.message.contains("malformed_tool_use"))
    }
}

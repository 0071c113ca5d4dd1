import Foundation
import GatewayCore
import GatewayTesting
import Testing

@testable import Dialects

@Suite struct AnthropicStreamEncoderTests {
    private struct Frame {
        var name: String
        var data: [String: Any]
        var index: Int? { FoundationJSON.int(data["index"]) }
    }

    /// Encodes `events`, then `end()` unless an error ended the stream.
    private func encode(_ events: [CanonicalStreamEvent], model: String? = nil) -> [UInt8] {
        var encoder = AnthropicStreamEncoder(model: model)
        var output: [UInt8] = []
        for event in events { output += encoder.encode(event) }
        if !encoder.isEnded { output += encoder.end() }
        #expect(encoder.isEnded)
        return output
    }

    /// The events of an SSE transcript, checking that each has a name equal to its `data.type`.
    private func frames(_ transcript: [UInt8]) throws -> [Frame] {
        try transcript.text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
            let lines = block.split(separator: "\n", omittingEmptySubsequences: false)
            try #require(lines.count == 2, "an event is one event line and one data line: \(block)")
            try #require(lines[0].hasPrefix("event: ") && lines[1].hasPrefix("data: "))
            let name = String(lines[0].dropFirst(7))
            let data = try #require(FoundationJSON.object(Array(lines[1].dropFirst(6).utf8)))
            #expect(data["type"] as? String == name)
            return Frame(name: name, data: data)
        }
    }

    /// Anthropic's order (docs/wire/anthropic.md): one `message_start` first; blocks numbered
    /// 0, 1, … each started, given deltas only while open, and stopped before the next; then one
    /// `message_delta` and `message_stop`, or an `error` last.
    private func expectWellFormed(_ frames: [Frame]) {
        #expect(frames.first?.name == "message_start" || frames.map(\.name) == ["error"])
        var open: Int?
        var next = 0
        for (position, frame) in frames.enumerated() {
            switch frame.name {
            case "message_start":
                #expect(position == 0)
            case "content_block_start":
                #expect(open == nil)
                #expect(frame.index == next)
                open = frame.index
                next += 1
            case "content_block_delta":
                #expect(open != nil && frame.index == open)
            case "content_block_stop":
                #expect(open != nil && frame.index == open)
                open = nil
            case "message_delta":
                #expect(open == nil)
                #expect(position == frames.count - 2)
            case "message_stop":
                #expect(position == frames.count - 1)
            case "error":
                #expect(position == frames.count - 1)
            default:
                Issue.record("unexpected event \(frame.name)")
            }
        }
    }

    private func decode(_ transcript: [UInt8]) -> (events: [CanonicalStreamEvent], complete: Bool) {
        var decoder = AnthropicStreamDecoder()
        let events = decoder.push(transcript) + decoder.finish()
        return (events, decoder.isComplete)
    }

    private func expectTranscript(_ output: [UInt8], equals fixture: String) throws {
        let expected = try Fixture.bytes("anthropic_front/" + fixture)
        #expect(try JSONComparison.events(output, ignoring: []) == JSONComparison.events(expected, ignoring: []))
        #expect(try frames(output).map(\.name) == frames(expected).map(\.name))
        expectWellFormed(try frames(output))
    }

    // MARK: - Transcripts

    @Test func textOnly() throws {
        let output = encode([
            .messageStart(id: "msg_01T", model: "claude-haiku-4-5"),
            .usage(
                TokenUsage(promptTokens: 16, completionTokens: 1, cachedPromptTokens: 4, cacheCreationPromptTokens: 3)),
            .textDelta("Hello"),
            .textDelta(""),
            .textDelta("!\nBye \"now\""),
            .finish(.stop, stopSequence: nil),
            .usage(
                TokenUsage(promptTokens: 16, completionTokens: 2, cachedPromptTokens: 4, cacheCreationPromptTokens: 3)),
        ])
        try expectTranscript(output, equals: "stream_text.sse")
    }

    @Test func thinkingWithSignatureThenTextThenAToolCallInManyPieces() throws {
        let output = encode(
            [
                .messageStart(id: "msg_01Q9", model: "claude-sonnet-4-5"),
                .usage(TokenUsage(promptTokens: 472, completionTokens: 2)),
                .thinkingDelta("User wants weather;"),
                .thinkingDelta(" call the tool."),
                .signatureDelta("EqQBCgIYAhIM1gbcDa9GJwZA"),
                .textDelta("Checking"),
                .textDelta("."),
                .toolCallStart(index: 0, id: "toolu_01B", name: "get_weather"),
                .toolCallArgumentsDelta(index: 0, fragment: ""),
                .toolCallArgumentsDelta(index: 0, fragment: "{\"ci"),
                .toolCallArgumentsDelta(index: 0, fragment: "ty\": "),
                .toolCallArgumentsDelta(index: 0, fragment: "\"Ro"),
                .toolCallArgumentsDelta(index: 0, fragment: "me\""),
                .toolCallArgumentsDelta(index: 0, fragment: "}"),
                .usage(TokenUsage(promptTokens: 472, completionTokens: 89)),
                .finish(.toolCalls, stopSequence: nil),
            ],
            model: "smart"
        )
        try expectTranscript(output, equals: "stream_thinking_text_tool_use.sse")
    }

    /// OpenAI's order: tool calls, the finish, then usage in a chunk of its own. The second call
    /// starts while the first one's block is open, so it follows whole once the calls are over,
    /// and a late piece of the first call still lands in the first block.
    @Test func twoToolCallsWithUsageAfterTheFinish() throws {
        let output = encode([
            .messageStart(id: "chatcmpl-9xYz", model: "gpt-4o"),
            .toolCallStart(index: 0, id: "call_P1", name: "get_weather"),
            .toolCallArgumentsDelta(index: 0, fragment: "{\"city\":"),
            .toolCallStart(index: 1, id: "call_R2", name: "get_time"),
            .toolCallArgumentsDelta(index: 1, fragment: "{\"tz\":"),
            .toolCallArgumentsDelta(index: 0, fragment: "\"Paris\"}"),
            .toolCallArgumentsDelta(index: 1, fragment: "\"Europe/Rome\"}"),
            .finish(.toolCalls, stopSequence: nil),
            .usage(TokenUsage(promptTokens: 61, completionTokens: 38)),
        ])
        try expectTranscript(output, equals: "stream_two_tool_calls.sse")
    }

    @Test func usageAfterTheFinishGoesIntoTheOneMessageDelta() throws {
        let output = encode([
            .messageStart(id: "chatcmpl-42", model: "gpt-4o-mini"),
            .textDelta("One, two"),
            .finish(.stop, stopSequence: "three"),
            .usage(TokenUsage(promptTokens: 100, completionTokens: 20, cachedPromptTokens: 60)),
        ])
        try expectTranscript(output, equals: "stream_usage_after_finish.sse")
        #expect(try frames(output).filter { $0.name == "message_delta" }.count == 1)
    }

    @Test func aMidStreamErrorEndsTheStream() throws {
        let (events, _) = decode(try Fixture.bytes("anthropic/stream_error.sse"))
        var encoder = AnthropicStreamEncoder(model: nil)
        var output: [UInt8] = []
        for event in events { output += encoder.encode(event) }
        #expect(encoder.isEnded)
        try expectTranscript(output, equals: "stream_error.sse")
        #expect(!output.text.contains("message_stop"))
    }

    // MARK: - Behaviours

    @Test func interleavedToolCallsStayInTheirOwnBlocks() throws {
        let output = encode([
            .messageStart(id: "msg_1", model: "m"),
            .toolCallStart(index: 0, id: "a", name: "f"),
            .toolCallStart(index: 1, id: "b", name: "g"),
            .toolCallArgumentsDelta(index: 1, fragment: "{\"b\":"),
            .toolCallStart(index: 2, id: "c", name: "h"),
            .toolCallArgumentsDelta(index: 0, fragment: "{\"a\":"),
            .toolCallArgumentsDelta(index: 1, fragment: "2}"),
            .toolCallArgumentsDelta(index: 0, fragment: "1}"),
            .toolCallArgumentsDelta(index: 7, fragment: "lost"),
            .textDelta("Done."),
            .finish(.toolCalls, stopSequence: nil),
        ])
        expectWellFormed(try frames(output))
        let (events, complete) = decode(output)
        #expect(complete)
        var starts: [Int: String] = [:]
        var arguments: [Int: String] = [:]
        for event in events {
            if case .toolCallStart(let index, let id, _) = event { starts[index] = id }
            if case .toolCallArgumentsDelta(let index, let fragment) = event {
                arguments[index, default: ""] += fragment
            }
        }
        #expect(starts == [0: "a", 1: "b", 2: "c"])
        #expect(arguments == [0: #"{"a":1}"#, 1: #"{"b":2}"#])
        #expect(events.contains(.textDelta("Done.")))
        let blocks = try frames(output).filter { $0.name == "content_block_start" }
        #expect(
            blocks.map { ($0.data["content_block"] as? [String: Any])?["type"] as? String } == [
                "tool_use", "tool_use", "tool_use", "text",
            ])
    }

    @Test func withoutAMessageStartTheEnvelopeIsMadeUp() throws {
        let output = encode([.textDelta("Hi"), .finish(.length, stopSequence: nil)], model: "smart")
        let frames = try frames(output)
        expectWellFormed(frames)
        let message = try #require(frames.first?.data["message"] as? [String: Any])
        #expect(message["model"] as? String == "smart")
        #expect((message["id"] as? String)?.hasPrefix("msg_") == true)
        #expect((message["content"] as? [Any])?.isEmpty == true)
        #expect(message["stop_reason"] is NSNull)
        let usage = try #require(message["usage"] as? [String: Int])
        #expect(usage["input_tokens"] == 0 && usage["output_tokens"] == 0)
        let delta = try #require(frames.last(where: { $0.name == "message_delta" })?.data["delta"] as? [String: Any])
        #expect(delta["stop_reason"] as? String == "max_tokens")
    }

    @Test func anEmptyStreamStillHasItsEnvelope() throws {
        var encoder = AnthropicStreamEncoder(model: nil)
        var output = encoder.encode(.messageStart(id: "msg_E", model: "m"))
        #expect(output.isEmpty)
        output += encoder.end()
        let frames = try frames(output)
        expectWellFormed(frames)
        #expect(frames.map(\.name) == ["message_start", "message_delta", "message_stop"])
        #expect((frames[1].data["delta"] as? [String: Any])?["stop_reason"] is NSNull)
    }

    @Test func thinkingSignaturesAndRedactedThinkingMakeTheirOwnBlocks() throws {
        let output = encode([
            .messageStart(id: "msg_1", model: "m"),
            .thinkingDelta("First."),
            .signatureDelta("sig1"),
            .thinkingDelta("Second."),
            .signatureDelta("sig2"),
            .signatureDelta("sig3"),
            .redactedThinking(data: "EmwKAhgB"),
            .signatureDelta(""),
            .textDelta("Answer."),
            .finish(.stop, stopSequence: nil),
        ])
        let frames = try frames(output)
        expectWellFormed(frames)
        let blocks = frames.filter { $0.name == "content_block_start" }.compactMap {
            $0.data["content_block"] as? [String: Any]
        }
        #expect(
            blocks.map { $0["type"] as? String } == ["thinking", "thinking", "thinking", "redacted_thinking", "text"])
        #expect(blocks[3]["data"] as? String == "EmwKAhgB")
        let (events, _) = decode(output)
        #expect(
            events.filter { if case .usage = $0 { false } else { true } } == [
                .messageStart(id: "msg_1", model: "m"),
                .thinkingDelta("First."), .signatureDelta("sig1"),
                .thinkingDelta("Second."), .signatureDelta("sig2"),
                .signatureDelta("sig3"),
                .redactedThinking(data: "EmwKAhgB"),
                .textDelta("Answer."),
                .finish(.stop, stopSequence: nil),
            ])
    }

    @Test func contentAfterTheFinishIsIgnored() throws {
        var encoder = AnthropicStreamEncoder(model: nil)
        _ = encoder.encode(.textDelta("Hi"))
        #expect(!encoder.encode(.finish(.stop, stopSequence: nil)).isEmpty)
        #expect(encoder.encode(.textDelta("more")).isEmpty)
        #expect(encoder.encode(.toolCallStart(index: 0, id: "x", name: "f")).isEmpty)
        #expect(encoder.encode(.finish(.length, stopSequence: nil)).isEmpty)
        let frames = try frames(encoder.end())
        #expect((frames.first?.data["delta"] as? [String: Any])?["stop_reason"] as? String == "end_turn")
    }

    @Test func anErrorFirstIsJustTheErrorEvent() throws {
        var encoder = AnthropicStreamEncoder(model: nil)
        let output = encoder.encode(.error(CanonicalError(.rateLimited, message: "slow down")))
        #expect(encoder.isEnded)
        let frames = try frames(output)
        #expect(frames.map(\.name) == ["error"])
        let error = try #require(frames[0].data["error"] as? [String: Any])
        #expect(error["type"] as? String == "rate_limit_error")
        #expect(error["message"] as? String == "slow down")
    }

    // MARK: - Round trips

    @Test(arguments: ["stream_thinking_tool_use.sse", "stream_text.sse", "stream_error.sse"])
    func providerStreamsRoundTrip(fixture: String) throws {
        let (original, complete) = decode(try Fixture.bytes("anthropic/" + fixture))
        var encoder = AnthropicStreamEncoder(model: nil)
        var output: [UInt8] = []
        for event in original { output += encoder.encode(event) }
        if complete { output += encoder.end() }
        #expect(encoder.isEnded)
        expectWellFormed(try frames(output))
        let (again, completeAgain) = decode(output)
        #expect(again == original)
        #expect(completeAgain == complete)
    }

    /// Through the stream translator, split anywhere: the same events come out (parallel tool calls
    /// keep their arguments, though a later call's pieces arrive as one).
    @Test(arguments: [1, 13, 4096])
    func translatesAnthropicStreamsToAnthropicEvents(chunkSize: Int) throws {
        for fixture in ["stream_thinking_tool_use.sse", "stream_text.sse", "stream_tool_calls.sse"] {
            let transcript = try Fixture.bytes("anthropic/" + fixture)
            var translator = CanonicalStreamTranslator<AnthropicStreamDecoder, AnthropicStreamEncoder>(
                encoder: AnthropicStreamEncoder(model: nil))
            var output: [UInt8] = []
            output += feed(transcript, inChunksOf: chunkSize) { translator.push($0) }
            output += translator.finish()
            #expect(translator.sawDone)
            expectWellFormed(try frames(output))
            let (original, _) = decode(transcript)
            let (again, complete) = decode(output)
            #expect(complete)
            #expect(Self.coalesced(again) == Self.coalesced(original), "\(fixture)")
        }
    }

    /// Events with consecutive argument pieces of one call joined.
    private static func coalesced(_ events: [CanonicalStreamEvent]) -> [CanonicalStreamEvent] {
        var result: [CanonicalStreamEvent] = []
        for event in events {
            if case .toolCallArgumentsDelta(let index, let fragment) = event,
                case .toolCallArgumentsDelta(index, let previous)? = result.last
            {
                result[result.count - 1] = .toolCallArgumentsDelta(index: index, fragment: previous + fragment)
            } else {
                result.append(event)
            }
        }
        return result
    }

    // MARK: - Error types

    @Test(arguments: [
        (CanonicalError.Kind.invalidRequest, "invalid_request_error"),
        (.contextLength, "invalid_request_error"),
        (.upstreamAuthentication, "api_error"),
        (.upstreamBilling, "api_error"),
        (.server, "api_error"),
        (.notFound, "not_found_error"),
        (.payloadTooLarge, "request_too_large"),
        (.rateLimited, "rate_limit_error"),
        (.overloaded, "overloaded_error"),
        (.timeout, "timeout_error"),
    ])
    func canonicalErrorTypes(kind: CanonicalError.Kind, type: String) throws {
        let error = CanonicalError(kind, message: "It \"broke\".")
        #expect(error.anthropicType == type)
        let body = try #require(FoundationJSON.object(error.anthropicBody))
        #expect(body["type"] as? String == "error")
        let inner = try #require(body["error"] as? [String: Any])
        #expect(inner["type"] as? String == type)
        #expect(inner["message"] as? String == "It \"broke\".")
    }

    @Test(arguments: [
        (GatewayError.Code.badRequest, "invalid_request_error"),
        (.unauthorized, "authentication_error"),
        (.forbidden, "permission_error"),
        (.notFound, "not_found_error"),
        (.methodNotAllowed, "invalid_request_error"),
        (.payloadTooLarge, "request_too_large"),
        (.rateLimited, "rate_limit_error"),
        (.budgetExceeded, "rate_limit_error"),
        (.upstreamError, "api_error"),
        (.timeout, "timeout_error"),
        (.unavailable, "overloaded_error"),
        (.internalError, "api_error"),
    ])
    func gatewayErrorTypes(code: GatewayError.Code, type: String) throws {
        let error = GatewayError(code, "No.")
        #expect(error.anthropicType == type)
        let body = try #require(FoundationJSON.object(error.anthropicBody))
        #expect((body["error"] as? [String: Any])?["type"] as? String == type)
        #expect((body["error"] as? [String: Any])?["message"] as? String == "No.")
    }
}

import GatewayCore
import GatewayTesting
import Testing

@testable import Dialects

@Suite struct OpenAIStreamDecoderTests {
    /// Feeds `transcript` in `chunkSize` pieces, then ends the body.
    private func decode(_ transcript: [UInt8], chunkSize: Int = 4096) -> (OpenAIStreamDecoder, [CanonicalStreamEvent]) {
        var decoder = OpenAIStreamDecoder()
        var events: [CanonicalStreamEvent] = []
        events += feed(transcript, inChunksOf: chunkSize) { decoder.push($0) }
        events += decoder.finish()
        return (decoder, events)
    }

    private func decode(_ text: String, chunkSize: Int = 4096) -> (OpenAIStreamDecoder, [CanonicalStreamEvent]) {
        decode(Array(text.utf8), chunkSize: chunkSize)
    }

    private static let fixtureEvents: [String: [CanonicalStreamEvent]] = [
        "stream_text.sse": [
            .messageStart(id: "chatcmpl-B7xQ3", model: "gpt-4o-mini-2024-07-18"), .textDelta("Hello"), .textDelta("!"),
            .finish(.stop, stopSequence: nil), .usage(TokenUsage(promptTokens: 9, completionTokens: 2)),
        ],
        "stream_tool_calls.sse": [
            .messageStart(id: "chatcmpl-B7xQ4", model: "gpt-4o-mini-2024-07-18"),
            .toolCallStart(index: 0, id: "call_P1", name: "get_weather"),
            .toolCallArgumentsDelta(index: 0, fragment: #"{"city": "Pa"#),
            .toolCallArgumentsDelta(index: 0, fragment: #"ris"}"#),
            .toolCallStart(index: 1, id: "call_R2", name: "get_weather"),
            .toolCallArgumentsDelta(index: 1, fragment: #"{"city": "Rome"}"#), .finish(.toolCalls, stopSequence: nil),
            .usage(TokenUsage(promptTokens: 61, completionTokens: 38)),
        ],
        "stream_tool_calls_split.sse": [
            .messageStart(id: "chatcmpl-C9tT1", model: "gpt-4o-mini-2024-07-18"),
            .toolCallStart(index: 0, id: "call_W0", name: "get_weather"),
            .toolCallArgumentsDelta(index: 0, fragment: #"{"ci"#),
            .toolCallArgumentsDelta(index: 0, fragment: #"ty": "#),
            .toolCallArgumentsDelta(index: 0, fragment: #""Par"#),
            .toolCallArgumentsDelta(index: 0, fragment: #"is", "unit""#),
            .toolCallArgumentsDelta(index: 0, fragment: #": "celsius"}"#),
            .toolCallStart(index: 1, id: "call_T1", name: "get_time"),
            .toolCallArgumentsDelta(index: 1, fragment: #"{"zo"#),
            .toolCallArgumentsDelta(index: 1, fragment: #"ne": "Europe/"#),
            .toolCallArgumentsDelta(index: 1, fragment: #"Rome"}"#), .finish(.toolCalls, stopSequence: nil),
            .usage(TokenUsage(promptTokens: 120, completionTokens: 44, cachedPromptTokens: 64)),
        ],
        "stream_reasoning_content.sse": [
            .messageStart(id: "0f3c2a9e-5b1d-4c7e-9a2f-6d8b1e4c3a70", model: "deepseek-reasoner"),
            .thinkingDelta("The user asks"), .thinkingDelta("for 2+2."), .thinkingDelta(" That is 4."),
            .textDelta("2 + 2"), .textDelta("= 4."), .finish(.stop, stopSequence: nil),
            .usage(TokenUsage(promptTokens: 14, completionTokens: 31, reasoningTokens: 22)),
        ],
        "stream_azure_prompt_filter.sse": [
            .messageStart(id: "chatcmpl-Ble7", model: "gpt-4o-2024-08-06"), .textDelta("Hallo"), .textDelta(" Welt!"),
            .finish(.stop, stopSequence: nil), .usage(TokenUsage(promptTokens: 11, completionTokens: 3)),
        ],
        "stream_tool_calls_unindexed.sse": [
            .messageStart(id: "chatcmpl-vllm-7f2e", model: "Qwen/Qwen2.5-7B-Instruct"),
            .toolCallStart(index: 0, id: "chatcmpl-tool-a1", name: "get_weather"),
            .toolCallArgumentsDelta(index: 0, fragment: #"{"city": "Paris"}"#),
            .toolCallStart(index: 1, id: "chatcmpl-tool-b2", name: "get_weather"),
            .toolCallArgumentsDelta(index: 1, fragment: #"{"city": "#),
            .toolCallArgumentsDelta(index: 1, fragment: #""Rome"}"#), .finish(.toolCalls, stopSequence: nil),
        ],
        "stream_error_midstream.sse": [
            .messageStart(id: "chatcmpl-C9tT2", model: "gpt-4o-mini-2024-07-18"), .textDelta("Once upon"),
            .textDelta(" a time"),
            .error(
                CanonicalError(
                    .server, message: "The server had an error while processing your request. Sorry about that!",
                    upstreamType: "server_error")),
        ],
    ]

    @Test(arguments: fixtureEvents.keys.sorted())
    func decodesFixturesWhateverTheChunking(fixture: String) throws {
        let transcript = try Fixture.bytes("openai/" + fixture)
        let expected = try #require(Self.fixtureEvents[fixture])
        for chunkSize in [1, 7, 64, transcript.count] {
            let (decoder, events) = decode(transcript, chunkSize: chunkSize)
            #expect(events == expected, "chunk size \(chunkSize)")
            #expect(decoder.isComplete == (fixture != "stream_error_midstream.sse"))
        }
    }

    @Test(arguments: fixtureEvents.keys.sorted())
    func aSplitAtEveryByteGivesTheSameEvents(fixture: String) throws {
        let transcript = try Fixture.bytes("openai/" + fixture)
        let (_, whole) = decode(transcript)
        for split in 0...transcript.count {
            var decoder = OpenAIStreamDecoder()
            let events =
                decoder.push(Array(transcript[..<split])) + decoder.push(Array(transcript[split...]))
                + decoder.finish()
            #expect(events == whole, "split at \(split)")
            if events != whole { return }
        }
    }

    @Test func splitArgumentsConcatenateToTheWholeCall() throws {
        let (decoder, events) = decode(try Fixture.bytes("openai/stream_tool_calls_split.sse"), chunkSize: 13)
        var arguments: [Int: String] = [:]
        for case .toolCallArgumentsDelta(let index, let fragment) in events {
            arguments[index, default: ""] += fragment
        }
        #expect(arguments == [0: #"{"city": "Paris", "unit": "celsius"}"#, 1: #"{"zone": "Europe/Rome"}"#])
        #expect(decoder.usage == TokenUsage(promptTokens: 120, completionTokens: 44, cachedPromptTokens: 64))
    }

    @Test func azuresPreambleAloneAddsNothing() throws {
        let transcript = try Fixture.bytes("openai/stream_azure_prompt_filter.sse")
        let text = transcript.text
        let preamble = Array(text[..<text.range(of: "\n\n")!.upperBound].utf8)
        var decoder = OpenAIStreamDecoder()
        #expect(decoder.push(preamble).isEmpty)
        #expect(!decoder.isComplete)
        let rest = decoder.push(Array(transcript[preamble.count...]))
        #expect(rest.first == .messageStart(id: "chatcmpl-Ble7", model: "gpt-4o-2024-08-06"))
    }

    @Test func anInStreamErrorEndsTheStream() throws {
        var decoder = OpenAIStreamDecoder()
        let events = decoder.push(try Fixture.bytes("openai/stream_error_midstream.sse"))
        #expect(decoder.isFailed)
        guard case .error(let error) = events.last else {
            Issue.record("no error event")
            return
        }
        #expect(error.kind == .server)
        #expect(error.isRetryable)
        #expect(
            decoder.push(Array("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n".utf8))
                .isEmpty)
        #expect(decoder.finish().isEmpty)
        #expect(!decoder.isComplete)
    }

    @Test func classifiesInStreamErrors() {
        let (_, events) = decode(
            Self.sse(#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#)
        )
        #expect(
            events == [
                .error(CanonicalError(.rateLimited, message: "Rate limit reached", upstreamType: "requests"))
            ])
    }

    @Test(arguments: [0.3, 0.6, 0.95])
    func aCutStreamEndsWithAnError(fraction: Double) throws {
        let transcript = try Fixture.bytes("openai/stream_text.sse")
        let (decoder, events) = decode(
            Array(transcript.prefix(Int(Double(transcript.count) * fraction))), chunkSize: 50)
        #expect(decoder.isFailed)
        #expect(!decoder.isComplete)
        guard case .error(let error) = events.last else {
            Issue.record("no error event")
            return
        }
        #expect(error.kind == .server)
        #expect(error.message == "The provider's stream ended before the answer was complete.")
        #expect(events.dropLast().allSatisfy { if case .error = $0 { false } else { true } })
    }

    @Test func aStreamThatFinishedButLostItsDoneIsStillCut() throws {
        let transcript = try Fixture.bytes("openai/stream_text.sse").text
        let (decoder, events) = decode(transcript.replacingOccurrences(of: "data: [DONE]\n\n", with: ""))
        #expect(events.contains(.finish(.stop, stopSequence: nil)))
        #expect(decoder.isFailed)
    }

    @Test func aLastEventWithoutItsBlankLineStillCounts() throws {
        let transcript = try Fixture.bytes("openai/stream_text.sse").text
        for ending in ["data: [DONE]\n", "data: [DONE]", "data:[DONE]\r\n"] {
            let (decoder, events) = decode(transcript.replacingOccurrences(of: "data: [DONE]\n\n", with: ending))
            #expect(decoder.isComplete, "\(ending)")
            #expect(events.last == .usage(TokenUsage(promptTokens: 9, completionTokens: 2)))
        }
        let (decoder, events) = decode(
            #"data: {"id":"c1","model":"m","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}"#)
        #expect(
            Array(events.dropLast()) == [
                .messageStart(id: "c1", model: "m"), .textDelta("ok"), .finish(.stop, stopSequence: nil),
            ])
        #expect(decoder.isFailed)  // no [DONE]
    }

    @Test func aRawJSONErrorTailFailsTheStream() throws {
        var transcript = try Fixture.bytes("openai/stream_text.sse")
        transcript.removeLast("data: [DONE]\n\n".utf8.count)
        transcript += try Fixture.bytes("openai/error_overloaded.json")
        let (decoder, events) = decode(transcript, chunkSize: 7)
        #expect(decoder.isFailed)
        #expect(
            events.last
                == .error(
                    CanonicalError(
                        .server, message: "The engine is currently overloaded, please try again later",
                        upstreamType: "server_error")))
    }

    @Test func aMalformedEventFails() {
        var decoder = OpenAIStreamDecoder()
        let events = decoder.push(Array("data: {not json\n\n".utf8))
        #expect(decoder.isFailed)
        #expect(events == [.error(CanonicalError(.server, message: "The provider sent a malformed stream event."))])
        #expect(decoder.push(Array("data: [DONE]\n\n".utf8)).isEmpty)
        #expect(decoder.finish().isEmpty)
    }

    /// An SSE body: `data:` events (JSON texts), then `[DONE]`.
    private static func sse(_ events: String..., done: Bool = true) -> String {
        events.map { "data: \($0)\n\n" }.joined() + (done ? "data: [DONE]\n\n" : "")
    }

    /// A chunk whose choice 0 has `delta` and `finish_reason`; `extra` members follow `choices`.
    private static func chunk(
        id: String? = "s", model: String = "m", delta: String = "{}", finish: String? = nil, extra: String = ""
    ) -> String {
        let envelope = id.map { #""id":"\#($0)","model":"\#(model)","# } ?? ""
        let reason = finish.map { #""\#($0)""# } ?? "null"
        return #"{\#(envelope)"choices":[{"index":0,"delta":\#(delta),"finish_reason":\#(reason)}]\#(extra)}"#
    }

    @Test func commentsAndCRLFFramingAreFine() {
        let body =
            ": OPENROUTER PROCESSING\r\n\r\ndata: "
            + Self.chunk(id: "gen-1", delta: #"{"role":"assistant","content":"Hi","reasoning":"greet"}"#)
            + "\r\n\r\n: OPENROUTER PROCESSING\r\n\r\ndata: [DONE]\r\n\r\n"
        let (decoder, events) = decode(body, chunkSize: 3)
        #expect(events == [.messageStart(id: "gen-1", model: "m"), .thinkingDelta("greet"), .textDelta("Hi")])
        #expect(decoder.isComplete)
    }

    @Test func aStreamWithoutIDsStillStartsBeforeItsFirstEvent() {
        let (_, events) = decode(
            Self.sse(
                Self.chunk(id: nil, delta: #"{"role":"assistant"}"#),
                Self.chunk(id: nil, delta: #"{"tool_calls":[{"index":0,"function":{"name":"f","arguments":"{}"}}]}"#),
                Self.chunk(id: nil, finish: "stop")))
        #expect(
            events == [
                .messageStart(id: "", model: ""), .toolCallStart(index: 0, id: "call_0", name: "f"),
                .toolCallArgumentsDelta(index: 0, fragment: "{}"), .finish(.toolCalls, stopSequence: nil),
            ])
    }

    @Test func aReusedIndexWithANewIDIsANewCall() {
        let calls =
            #"{"tool_calls":[{"index":0,"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},"#
            + #"{"index":0,"id":"b","type":"function","function":{"name":"g","arguments":"{\"x\":1}"}}]}"#
        let (_, events) = decode(Self.sse(Self.chunk(delta: calls, finish: "tool_calls")))
        #expect(
            events == [
                .messageStart(id: "s", model: "m"), .toolCallStart(index: 0, id: "a", name: "f"),
                .toolCallArgumentsDelta(index: 0, fragment: "{}"), .toolCallStart(index: 1, id: "b", name: "g"),
                .toolCallArgumentsDelta(index: 1, fragment: #"{"x":1}"#), .finish(.toolCalls, stopSequence: nil),
            ])
    }

    @Test func legacyFunctionCallStreamsAsAToolCall() {
        let (_, events) = decode(
            Self.sse(
                Self.chunk(
                    delta: #"{"role":"assistant","content":null,"function_call":{"name":"get_weather","arguments":""}}"#
                ),
                Self.chunk(delta: #"{"function_call":{"arguments":"{\"c"}}"#),
                Self.chunk(delta: #"{"function_call":{"arguments":"\":1}"}}"#),
                Self.chunk(finish: "function_call")))
        #expect(
            events == [
                .messageStart(id: "s", model: "m"), .toolCallStart(index: 0, id: "call_0", name: "get_weather"),
                .toolCallArgumentsDelta(index: 0, fragment: #"{"c"#),
                .toolCallArgumentsDelta(index: 0, fragment: #"":1}"#),
                .finish(.toolCalls, stopSequence: nil),
            ])
    }

    @Test func aRefusalIsTextAndFinishesAsContentFilter() {
        let (_, events) = decode(
            Self.sse(
                Self.chunk(delta: #"{"role":"assistant","content":null,"refusal":""}"#),
                Self.chunk(delta: #"{"refusal":"I can't"}"#),
                Self.chunk(finish: "stop")))
        #expect(
            events == [
                .messageStart(id: "s", model: "m"), .textDelta("I can't"), .finish(.contentFilter, stopSequence: nil),
            ])
    }

    @Test func onlyTheFirstFinishAndChangedUsageCount() {
        // vLLM's continuous usage on every chunk, a second finish, other choices (n>1), Groq's x_groq usage.
        let usage = { (completion: Int) in
            #""usage":{"prompt_tokens":5,"completion_tokens":\#(completion),"total_tokens":\#(5 + completion)}"#
        }
        let twoChoices =
            #"{"id":"s","model":"m","choices":[{"index":0,"delta":{"content":"a"}},"#
            + #"{"index":1,"delta":{"content":"z"}}],\#(usage(1))}"#
        let (decoder, events) = decode(
            Self.sse(
                twoChoices,
                Self.chunk(finish: "length", extra: "," + usage(1)),
                Self.chunk(finish: "stop", extra: #","usage":null,"x_groq":{"id":"req_1",\#(usage(2))}"#)))
        #expect(
            events == [
                .messageStart(id: "s", model: "m"), .textDelta("a"),
                .usage(TokenUsage(promptTokens: 5, completionTokens: 1)),
                .finish(.length, stopSequence: nil), .usage(TokenUsage(promptTokens: 5, completionTokens: 2)),
            ])
        #expect(decoder.usage == TokenUsage(promptTokens: 5, completionTokens: 2))
    }

    /// Canonical events → `OpenAIStreamEncoder` → the decoder: the same events. Usage comes last
    /// (the encoder writes it at the end) and the decoder adds no event of its own.
    static let roundTrips: [[CanonicalStreamEvent]] = [
        [
            .messageStart(id: "chatcmpl-1", model: "gpt-4o"), .textDelta("Hel"), .textDelta("lo"),
            .finish(.stop, stopSequence: nil), .usage(TokenUsage(promptTokens: 9, completionTokens: 2)),
        ],
        [
            .messageStart(id: "chatcmpl-2", model: "o3"), .thinkingDelta("Two tools"), .thinkingDelta(" needed."),
            .textDelta("Checking."), .toolCallStart(index: 0, id: "call_a", name: "get_weather"),
            .toolCallArgumentsDelta(index: 0, fragment: #"{"city""#),
            .toolCallArgumentsDelta(index: 0, fragment: #":"Oslo"}"#),
            .toolCallStart(index: 1, id: "call_b", name: "get_time"), .toolCallArgumentsDelta(index: 1, fragment: "{}"),
            .finish(.toolCalls, stopSequence: nil),
            .usage(TokenUsage(promptTokens: 100, completionTokens: 50, cachedPromptTokens: 40, reasoningTokens: 20)),
        ],
        [
            .messageStart(id: "chatcmpl-3", model: "gpt-4o-mini"),
            .toolCallStart(index: 0, id: "call_c", name: "search"),
            .toolCallArgumentsDelta(index: 0, fragment: #"{"q":"sw"#), .finish(.length, stopSequence: nil),
        ],
        [
            .messageStart(id: "chatcmpl-4", model: "gpt-4o"), .textDelta("Blocked"),
            .finish(.contentFilter, stopSequence: nil),
        ],
    ]

    @Test(arguments: roundTrips.indices)
    func roundTripsThroughTheStreamEncoder(index: Int) {
        let original = Self.roundTrips[index]
        var encoder = OpenAIStreamEncoder(created: 1_735_689_600, includeUsage: true)
        var bytes: [UInt8] = []
        for event in original { bytes += encoder.encode(event) }
        bytes += encoder.end()
        let (decoder, events) = decode(bytes, chunkSize: 5)
        #expect(events == original)
        #expect(decoder.isComplete)
    }

    @Test func anErrorRoundTripsThroughTheStreamEncoder() {
        var encoder = OpenAIStreamEncoder(created: 0, includeUsage: false)
        let error = CanonicalError(.rateLimited, message: "Slow down")
        var bytes: [UInt8] = []
        for event: CanonicalStreamEvent in [.messageStart(id: "c", model: "m"), .textDelta("Hi"), .error(error)] {
            bytes += encoder.encode(event)
        }
        let (decoder, events) = decode(bytes)
        #expect(
            events == [
                .messageStart(id: "c", model: "m"), .textDelta("Hi"),
                .error(CanonicalError(.rateLimited, message: "Slow down", upstreamType: "rate_limit_exceeded")),
            ])
        #expect(decoder.isFailed)
    }

    @Test func azuresPreambleThenAnErrorFailsOverInvisiblyThroughTheTranslator() throws {
        let transcript = try Fixture.bytes("openai/stream_azure_prompt_filter.sse").text
        let preamble = String(transcript[..<transcript.range(of: "\n\n")!.upperBound])
        var translator = CanonicalStreamTranslator<OpenAIStreamDecoder, OpenAIStreamEncoder>(
            model: "smart", includeUsage: false, created: 0)
        var output = translator.push(Array(preamble.utf8))
        output += translator.push(
            Array(#"data: {"error":{"message":"Overloaded","type":"server_error","code":"503"}}"#.utf8))
        output += translator.push(Array("\n\n".utf8))
        output += translator.finish()
        #expect(output.isEmpty)
        #expect(translator.sawError)
        #expect(!translator.committed)
    }
}

@Suite struct CanonicalStreamTranslatorPreambleTests {
    /// A provider that sends preamble-only events forever (here Gemini thought parts with no text,
    /// only a signature, for an Anthropic client) cannot make the translator hold unbounded bytes
    /// back: past the preamble bounds it is released.
    @Test func anEndlessPreambleIsReleasedAtItsBound() {
        var translator = CanonicalStreamTranslator<GeminiStreamDecoder, AnthropicStreamEncoder>(
            encoder: AnthropicStreamEncoder(model: "m"))
        let chunk = Array(
            (#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"","thought":true,"#
                + #""thoughtSignature":"c2lnbmF0dXJl"}]},"index":0}]}"# + "\n\n").utf8)
        // The first events are held back as preamble…
        #expect(translator.push(chunk).isEmpty)
        #expect(!translator.committed)
        // …but not forever.
        var released = 0
        for _ in 0..<2_000 where !translator.committed { released += translator.push(chunk).count }
        #expect(translator.committed)
        #expect(released > 0)
    }
}

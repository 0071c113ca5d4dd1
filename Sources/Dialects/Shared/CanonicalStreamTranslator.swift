import GatewayCore

/// A provider's stream decoder: its SSE bytes in, canonical events out.
public protocol CanonicalStreamDecoder: Sendable {
    init()
    mutating func push(_ chunk: [UInt8]) -> [CanonicalStreamEvent]
    /// The body ended: the last events (an error when the stream was cut).
    mutating func finish() -> [CanonicalStreamEvent]
    /// The provider ended the answer properly.
    var isComplete: Bool { get }
    var usage: TokenUsage? { get }
    /// One event passed the framing cap (`SSEFramer.maximumEventBytes`).
    var oversizedEvent: Bool { get }
}

/// A client dialect's stream encoder: canonical events in, the client's SSE bytes out.
public protocol CanonicalStreamEncoder: Sendable {
    /// The bytes for one event (possibly none). An `.error` event ends the stream.
    mutating func encode(_ event: CanonicalStreamEvent) -> [UInt8]
    /// The provider's stream ended normally: the closing bytes (OpenAI: the usage chunk and
    /// `[DONE]`; Anthropic: `message_delta` and `message_stop`).
    mutating func end() -> [UInt8]
    /// True once `end()` or an error event ended the stream.
    var isEnded: Bool { get }
    /// The answer as one JSON object, when the dialect's stream ends with one (Responses'
    /// `response.completed`): what the gateway stores for `previous_response_id`.
    var finalResponse: [UInt8]? { get }
    /// The `sequence_number` the next event gets, in dialects that number events (else 0).
    var nextSequenceNumber: Int { get }
}

extension CanonicalStreamEncoder {
    public var finalResponse: [UInt8]? { nil }
    public var nextSequenceNumber: Int { 0 }
}

/// An Anthropic Messages stream as OpenAI chunks (preamble: `message_start`, `ping`, usage).
public typealias AnthropicToOpenAIStream = CanonicalStreamTranslator<AnthropicStreamDecoder, OpenAIStreamEncoder>
/// A Gemini stream as OpenAI chunks (preamble: the first chunk's message start, usage; done when
/// the body ended after a `finishReason`).
public typealias GeminiToOpenAIStream = CanonicalStreamTranslator<GeminiStreamDecoder, OpenAIStreamEncoder>

extension CanonicalStreamTranslator where Encoder == OpenAIStreamEncoder {
    /// A provider stream for an OpenAI-dialect client.
    public init(model: String, includeUsage: Bool, created: Int) {
        self.init(encoder: OpenAIStreamEncoder(model: model, created: created, includeUsage: includeUsage))
    }
}

/// A translated provider stream: the provider's decoder → canonical events → the client's
/// encoder, with the preamble held back until the first real output (the commit point).
public struct CanonicalStreamTranslator<Decoder: CanonicalStreamDecoder, Encoder: CanonicalStreamEncoder>:
    StreamTranslator
{
    private var decoder = Decoder()
    private var encoder: Encoder
    private var preamble: [UInt8] = []
    private var preambleEvents = 0
    public private(set) var committed = false
    public private(set) var sawError = false
    public private(set) var sawDone = false

    public init(encoder: Encoder) {
        self.encoder = encoder
    }

    public var usage: TokenUsage? { decoder.usage }
    public var oversizedEvent: Bool { decoder.oversizedEvent }
    public var finalResponse: [UInt8]? { encoder.finalResponse }

    public func cutEvent(_ error: GatewayError, dialect: ClientDialect) -> [UInt8] {
        dialect.streamErrorEvent(error, sequenceNumber: encoder.nextSequenceNumber)
    }

    public mutating func push(_ chunk: [UInt8]) -> [UInt8] {
        translate(decoder.push(chunk))
    }

    public mutating func finish() -> [UInt8] {
        var output = translate(decoder.finish())
        if decoder.isComplete && !sawError && !encoder.isEnded {
            sawDone = true
            if !committed {
                committed = true
                output = preamble + output
                preamble = []
            }
            output += encoder.end()
        }
        return output
    }

    public mutating func releasePreamble() -> [UInt8] {
        committed = true
        defer { preamble = [] }
        return preamble
    }

    private mutating func translate(_ events: [CanonicalStreamEvent]) -> [UInt8] {
        var output: [UInt8] = []
        for event in events {
            if case .error = event {
                sawError = true
                // Before any output the error is a failed attempt; the pipeline fails over.
                if !committed { return [] }
            }
            guard !encoder.isEnded else { continue }
            let bytes = encoder.encode(event)
            if committed {
                output += bytes
            } else if event.isRealOutput {
                committed = true
                output += preamble + bytes
                preamble = []
            } else if !bytes.isEmpty {
                preamble += bytes
                preambleEvents += 1
                // Bounded like the relays' preamble: past it the stream is released anyway.
                if preambleEvents > OpenAIStreamRelay.maximumPreambleEvents
                    || preamble.count > OpenAIStreamRelay.maximumPreambleBytes
                {
                    committed = true
                    output += preamble
                    preamble = []
                }
            }
        }
        return output
    }

}

extension CanonicalStreamEvent {
    /// Output a client would see, the commit point of a stream; everything else is preamble.
    var isRealOutput: Bool {
        switch self {
        case .textDelta(let text): !text.isEmpty
        case .thinkingDelta(let text): !text.isEmpty
        case .toolCallStart, .toolCallArgumentsDelta, .finish, .error: true
        case .messageStart, .usage, .signatureDelta, .redactedThinking: false
        }
    }
}

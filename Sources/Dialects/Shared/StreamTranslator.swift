import GatewayCore

/// Turns a provider's streamed body into the client's SSE stream, one upstream chunk at a time,
/// holding back the preamble until real output (the stream commit point). A pure state machine:
/// the pipeline feeds chunks and sends what comes back.
public protocol StreamTranslator: Sendable {
    /// Bytes to send now for one upstream chunk (possibly none).
    mutating func push(_ chunk: [UInt8]) -> [UInt8]
    /// The upstream body ended: the last bytes to send (a translated stream's closing chunks).
    mutating func finish() -> [UInt8]
    /// Releases a held preamble (a complete answer that never had real output).
    mutating func releasePreamble() -> [UInt8]
    /// Real output has been released: the answer is committed to this attempt.
    var committed: Bool { get }
    /// The provider reported an error in the stream.
    var sawError: Bool { get }
    /// The provider ended the answer properly (OpenAI `[DONE]`, Anthropic `message_stop`).
    var sawDone: Bool { get }
    var usage: TokenUsage? { get }
    /// One provider event passed the framing cap (`SSEFramer.maximumEventBytes`): the attempt
    /// must stop, as the stream cannot be read further.
    var oversizedEvent: Bool { get }
    /// A Responses answer's final `response` object (the terminal event's), for the store of
    /// `previous_response_id` chains; nil for other dialects.
    var finalResponse: [UInt8]? { get }
    /// The in-band event that cuts this stream now with `error`, in the client's dialect (numbered
    /// after the events already sent, where the dialect numbers them).
    func cutEvent(_ error: GatewayError, dialect: ClientDialect) -> [UInt8]
}

extension StreamTranslator {
    public var finalResponse: [UInt8]? { nil }

    public func cutEvent(_ error: GatewayError, dialect: ClientDialect) -> [UInt8] {
        dialect.streamErrorEvent(error)
    }
}

/// One step of a streamed answer, between a provider's stream decoder and a client's stream
/// encoder. Tool calls are numbered 0, 1, … in the order they start (`index`), whatever other
/// blocks come between them.
public enum CanonicalStreamEvent: Sendable, Equatable {
    /// The answer began; always the first event.
    case messageStart(id: String, model: String)
    case textDelta(String)
    case toolCallStart(index: Int, id: String, name: String)
    /// A piece of a tool call's JSON arguments; pieces are not valid JSON on their own.
    case toolCallArgumentsDelta(index: Int, fragment: String)
    case thinkingDelta(String)
    /// The signature of the thinking streamed so far.
    case signatureDelta(String)
    /// A whole redacted-thinking block.
    case redactedThinking(data: String)
    case finish(CanonicalStopReason, stopSequence: String?)
    /// Token usage so far; a later event replaces an earlier one.
    case usage(TokenUsage)
    /// The provider failed mid-stream; nothing follows.
    case error(CanonicalError)
}

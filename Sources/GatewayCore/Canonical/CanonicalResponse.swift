/// A complete (non-stream) answer in the gateway's own terms.
public struct CanonicalResponse: Sendable, Equatable {
    public var id: String
    /// The model the provider reports.
    public var model: String
    /// Text, tool calls, thinking and redacted thinking, in the order the model produced them.
    public var content: [CanonicalContentPart]
    public var stopReason: CanonicalStopReason?
    /// The stop sequence that ended the answer, when one did.
    public var stopSequence: String?
    public var usage: TokenUsage?

    public init(
        id: String,
        model: String,
        content: [CanonicalContentPart],
        stopReason: CanonicalStopReason?,
        stopSequence: String? = nil,
        usage: TokenUsage? = nil
    ) {
        self.id = id
        self.model = model
        self.content = content
        self.stopReason = stopReason
        self.stopSequence = stopSequence
        self.usage = usage
    }

    /// The text parts joined.
    public var text: String {
        content.reduce(into: "") { result, part in
            if case .text(let text) = part { result += text }
        }
    }

    public var toolCalls: [CanonicalToolCall] {
        content.compactMap { part in
            if case .toolCall(let call) = part { return call }
            return nil
        }
    }
}

/// Why the model stopped.
public enum CanonicalStopReason: Sendable, Equatable {
    /// A natural end or a stop sequence.
    case stop
    /// The output token limit or the context window.
    case length
    case toolCalls
    /// Refused or filtered for content policy.
    case contentFilter
    /// The provider paused a long turn; the client must continue it.
    case pauseTurn

    /// OpenAI's `finish_reason`. A paused turn reads as `stop` (OpenAI has no resume).
    public var openAIFinishReason: String {
        switch self {
        case .stop, .pauseTurn: "stop"
        case .length: "length"
        case .toolCalls: "tool_calls"
        case .contentFilter: "content_filter"
        }
    }

    /// From OpenAI's `finish_reason` (`function_call`, the legacy form, reads as tool calls).
    public init?(openAIFinishReason: String) {
        switch openAIFinishReason {
        case "stop": self = .stop
        case "length": self = .length
        case "tool_calls", "function_call": self = .toolCalls
        case "content_filter": self = .contentFilter
        default: return nil
        }
    }
}

import GatewayCore

/// Turns `CanonicalStreamEvent`s into OpenAI `chat.completion.chunk` SSE bytes (docs/wire/openai.md).
///
/// The role arrives on the first chunk: alone (`content:""`) before text or thinking, merged into
/// the first tool call's chunk when a tool call comes first, as OpenAI does. Tool calls stream by
/// index; the first fragment carries `id`, `type`, `name` and `arguments:""`. `finish` writes a chunk
/// with an empty delta; `end()` then writes the usage chunk (`choices:[]`, only when the client asked
/// for usage) and `data: [DONE]`. An error event writes `data: {"error":{…}}` and ends the stream
/// without `[DONE]`, so the client sees it was cut. Thinking text goes out as
/// `delta.reasoning_content`; signatures and redacted thinking are dropped.
///
/// A pure per-request state machine: no clock (`created` is given), no I/O.
public struct OpenAIStreamEncoder: CanonicalStreamEncoder {
    private enum State {
        /// Nothing written yet.
        case idle
        /// The role chunk is out.
        case streaming
        /// The finish chunk is out; only usage may still arrive.
        case finished
        /// `end()` or an error ended the stream.
        case ended
    }

    private var state = State.idle
    private var id: String
    private var model: String
    private let fixedID: Bool
    private let fixedModel: Bool
    private let created: Int
    private let includeUsage: Bool
    public private(set) var usage: TokenUsage?

    /// - Parameters:
    ///   - id: the chunk id to use, nil to take the provider's from `messageStart`.
    ///   - model: the model to report, nil to take the provider's from `messageStart`.
    ///   - created: Unix seconds for `created`.
    ///   - includeUsage: the client asked for `stream_options.include_usage`.
    public init(id: String? = nil, model: String? = nil, created: Int, includeUsage: Bool) {
        self.id = id ?? ""
        self.model = model ?? ""
        self.fixedID = id != nil
        self.fixedModel = model != nil
        self.created = created
        self.includeUsage = includeUsage
    }

    /// True once `end()` or an error event ended the stream.
    public var isEnded: Bool { if case .ended = state { true } else { false } }

    /// The bytes for one event (possibly none).
    public mutating func encode(_ event: CanonicalStreamEvent) -> [UInt8] {
        guard !isEnded else { preconditionFailure("OpenAIStreamEncoder: event after the end of the stream") }
        switch event {
        case .messageStart(let upstreamID, let upstreamModel):
            if !fixedID { id = upstreamID }
            if !fixedModel { model = upstreamModel }
            return []
        case .textDelta(let text):
            guard !text.isEmpty else { return [] }
            return startIfNeeded() + chunk { $0.field("content", text) }
        case .thinkingDelta(let text):
            guard !text.isEmpty else { return [] }
            return startIfNeeded() + chunk { $0.field("reasoning_content", text) }
        case .toolCallStart(let index, let callID, let name):
            let merge = state == .idle
            if case .finished = state { return [] }
            state = .streaming
            return chunk {
                if merge {
                    $0.field("role", "assistant")
                    $0.field("content", nil as String?)
                }
                writeToolCall(&$0, index: index) {
                    $0.field("id", callID)
                    $0.field("type", "function")
                    $0.key("function")
                    $0.object {
                        $0.field("name", name)
                        $0.field("arguments", "")
                    }
                }
            }
        case .toolCallArgumentsDelta(let index, let fragment):
            guard !fragment.isEmpty else { return [] }
            return startIfNeeded()
                + chunk {
                    writeToolCall(&$0, index: index) {
                        $0.key("function")
                        $0.object { $0.field("arguments", fragment) }
                    }
                }
        case .signatureDelta, .redactedThinking:
            return []
        case .finish(let reason, _):
            guard state != .finished else { return [] }
            let start = startIfNeeded()
            state = .finished
            return start + chunk(finishReason: reason.openAIFinishReason) { _ in }
        case .usage(let usage):
            self.usage = usage
            return []
        case .error(let error):
            state = .ended
            return Self.event(error.openAIBody)
        }
    }

    /// The provider's stream ended normally: the usage chunk when asked for, then `[DONE]`.
    public mutating func end() -> [UInt8] {
        guard !isEnded else { preconditionFailure("OpenAIStreamEncoder: end() after the end of the stream") }
        var output = startIfNeeded()
        state = .ended
        if includeUsage, let usage {
            var json = JSONWriter(capacity: 256)
            json.object {
                writeEnvelope(&$0)
                $0.key("choices")
                $0.array { _ in }
                $0.key("usage")
                OpenAIChatResponseEncoder.writeUsage(usage, into: &$0)
            }
            output += Self.event(json.bytes)
        }
        output += Array("data: [DONE]\n\n".utf8)
        return output
    }

    private mutating func startIfNeeded() -> [UInt8] {
        guard case .idle = state else { return [] }
        state = .streaming
        return chunk {
            $0.field("role", "assistant")
            $0.field("content", "")
            $0.key("refusal")
            $0.null()
        }
    }

    private func writeToolCall(_ json: inout JSONWriter, index: Int, _ body: (inout JSONWriter) -> Void) {
        json.key("tool_calls")
        json.array {
            $0.object {
                $0.field("index", index)
                body(&$0)
            }
        }
    }

    private func chunk(finishReason: String? = nil, delta: (inout JSONWriter) -> Void) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        json.object {
            writeEnvelope(&$0)
            $0.key("choices")
            $0.array {
                $0.object {
                    $0.field("index", 0)
                    $0.key("delta")
                    $0.object(delta)
                    $0.key("logprobs")
                    $0.null()
                    $0.field("finish_reason", finishReason)
                }
            }
            if includeUsage {
                $0.key("usage")
                $0.null()
            }
        }
        return Self.event(json.bytes)
    }

    private func writeEnvelope(_ json: inout JSONWriter) {
        json.field("id", id)
        json.field("object", "chat.completion.chunk")
        json.field("created", created)
        json.field("model", model)
    }

    private static func event(_ json: [UInt8]) -> [UInt8] {
        Array("data: ".utf8) + json + Array("\n\n".utf8)
    }
}

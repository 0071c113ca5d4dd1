import GatewayCore

/// Turns `CanonicalStreamEvent`s into an Anthropic Messages SSE stream (docs/wire/anthropic.md), for
/// clients that speak Anthropic to the gateway: `message_start`, then each block as
/// `content_block_start`, deltas, `content_block_stop` with indexes 0, 1, 2, …, then one
/// `message_delta` and `message_stop`.
///
/// - `message_start` is written just before the first block (or by `end()`), so that it carries the
///   usage known by then (a provider's `messageStart` is followed by its first usage).
/// - A change of kind (text, thinking, tool call) closes the open block and opens another. A
///   signature closes a thinking block's content: thinking after it starts a new thinking block.
///   A signature with no thinking block open gets an empty one. Redacted thinking is a whole block.
/// - Tool calls: Anthropic's blocks are strictly sequential, and a `content_block_stop` cannot be
///   taken back, so a tool block stays open until something other than a tool call (text,
///   thinking, finish, end) arrives. A tool call that starts while another's block is open is held
///   back, its fragments buffered; when the open block closes, each held call follows as a whole
///   block (start, one `input_json_delta` with all its arguments, stop). Fragments interleaved
///   across calls are therefore never misplaced; in the usual sequential case the first call
///   streams live and the later ones arrive together when the calls are over. A fragment for a
///   call whose block was closed by text or thinking has no place left and is dropped.
/// - `finish` closes the open block and keeps the stop reason; content after it is ignored.
///   `end()` writes the single `message_delta` (stop reason and cumulative usage) and
///   `message_stop`. An error writes an `error` event and ends the stream, without closing blocks
///   (as Anthropic does).
///
/// A pure per-request state machine: no clock, no I/O.
public struct AnthropicStreamEncoder: CanonicalStreamEncoder {
    private enum Block: Sendable, Equatable {
        case text
        case thinking
        /// A thinking block whose signature is written; more thinking opens a new block.
        case signedThinking
        case toolUse(call: Int)
        /// Written whole by its start; closed at once.
        case redactedThinking
    }

    /// A tool call that started while another tool call's block was open.
    private struct HeldToolCall: Sendable {
        var index: Int
        var id: String
        var name: String
        var arguments = ""
    }

    private var id = ""
    private var model: String
    private let fixedModel: Bool
    private var startedMessage = false
    /// The open block and its Anthropic index.
    private var open: (block: Block, index: Int)?
    private var nextBlockIndex = 0
    /// Held-back tool calls, in the order they started. Non-empty only while a tool block is open.
    private var held: [HeldToolCall] = []
    /// Tool calls whose block has been written (open or closed).
    private var writtenCalls: Set<Int> = []
    private var finished = false
    private var stopReason: CanonicalStopReason?
    private var stopSequence: String?
    /// The latest usage seen.
    public private(set) var usage: TokenUsage?
    /// True once `end()` or an error event ended the stream.
    public private(set) var isEnded = false

    /// - Parameter model: the model to report, nil to take the provider's from `messageStart`.
    public init(model: String?) {
        self.model = model ?? ""
        self.fixedModel = model != nil
    }

    /// The bytes for one event (possibly none).
    public mutating func encode(_ event: CanonicalStreamEvent) -> [UInt8] {
        guard !isEnded else { preconditionFailure("AnthropicStreamEncoder: event after the end of the stream") }
        switch event {
        case .messageStart(let upstreamID, let upstreamModel):
            guard !startedMessage else { return [] }
            id = upstreamID
            if !fixedModel { model = upstreamModel }
            return []
        case .usage(let usage):
            self.usage = usage
            return []
        case .error(let error):
            isEnded = true
            return Self.event("error", error.anthropicBody)
        default:
            guard !finished else { return [] }
            return encodeContent(event)
        }
    }

    /// The provider's stream ended normally: the open block's stop, `message_delta` with the stop
    /// reason and the final usage, and `message_stop`.
    public mutating func end() -> [UInt8] {
        guard !isEnded else { preconditionFailure("AnthropicStreamEncoder: end() after the end of the stream") }
        var output = startMessageIfNeeded() + closeBlock()
        isEnded = true
        let reason = AnthropicMessagesResponseEncoder.stopReason(stopReason, stopSequence: stopSequence)
        output += Self.event("message_delta") {
            $0.key("delta")
            $0.object {
                $0.field("stop_reason", reason)
                $0.field("stop_sequence", reason == "stop_sequence" ? stopSequence : nil)
            }
            $0.key("usage")
            AnthropicMessagesResponseEncoder.writeUsage(usage, into: &$0)
        }
        output += Self.event("message_stop") { _ in }
        return output
    }

    // MARK: - Content

    private mutating func encodeContent(_ event: CanonicalStreamEvent) -> [UInt8] {
        switch event {
        case .textDelta(let text):
            guard !text.isEmpty else { return [] }
            var output: [UInt8] = []
            if open?.block != .text {
                output += openBlock(.text) {
                    $0.field("type", "text")
                    $0.field("text", "")
                }
            }
            return output + delta("text_delta", "text", text)
        case .thinkingDelta(let text):
            guard !text.isEmpty else { return [] }
            var output = open?.block == .thinking ? [] : openThinkingBlock()
            output += delta("thinking_delta", "thinking", text)
            return output
        case .signatureDelta(let signature):
            guard !signature.isEmpty else { return [] }
            var output = open?.block == .thinking ? [] : openThinkingBlock()
            output += delta("signature_delta", "signature", signature)
            open?.block = .signedThinking
            return output
        case .redactedThinking(let data):
            var output = openBlock(.redactedThinking) {
                $0.field("type", "redacted_thinking")
                $0.field("data", data)
            }
            output += closeBlock()
            return output
        case .toolCallStart(let index, let callID, let name):
            guard !writtenCalls.contains(index), !held.contains(where: { $0.index == index }) else { return [] }
            if case .toolUse = open?.block {
                held.append(HeldToolCall(index: index, id: callID, name: name))
                return []
            }
            return openToolBlock(index: index, id: callID, name: name)
        case .toolCallArgumentsDelta(let index, let fragment):
            guard !fragment.isEmpty else { return [] }
            if open?.block == .toolUse(call: index) { return argumentsDelta(fragment) }
            if let position = held.firstIndex(where: { $0.index == index }) {
                held[position].arguments += fragment
            }
            return []
        case .finish(let reason, let sequence):
            finished = true
            stopReason = reason
            stopSequence = sequence
            return closeBlock()
        case .messageStart, .usage, .error:
            preconditionFailure("AnthropicStreamEncoder: \(event) is not content")
        }
    }

    private mutating func openThinkingBlock() -> [UInt8] {
        openBlock(.thinking) {
            $0.field("type", "thinking")
            $0.field("thinking", "")
            $0.field("signature", "")
        }
    }

    private mutating func openToolBlock(index: Int, id: String, name: String) -> [UInt8] {
        writtenCalls.insert(index)
        return openBlock(.toolUse(call: index)) {
            $0.field("type", "tool_use")
            $0.field("id", id)
            $0.field("name", name)
            $0.key("input")
            $0.object { _ in }
        }
    }

    private func argumentsDelta(_ fragment: String) -> [UInt8] {
        delta("input_json_delta", "partial_json", fragment)
    }

    /// `message_start` when not yet written, the open block's stop, then a new block's start.
    private mutating func openBlock(_ block: Block, content: (inout JSONWriter) -> Void) -> [UInt8] {
        var output = startMessageIfNeeded() + closeBlock()
        let index = nextBlockIndex
        nextBlockIndex += 1
        output += Self.event("content_block_start") {
            $0.field("index", index)
            $0.key("content_block")
            $0.object(content)
        }
        open = (block, index)
        return output
    }

    /// The open block's `content_block_stop`, then the held-back tool calls, each a whole block.
    private mutating func closeBlock() -> [UInt8] {
        guard let index = open?.index else { return [] }
        open = nil
        var output = Self.event("content_block_stop") { $0.field("index", index) }
        let calls = held
        held = []
        for call in calls {
            output += openToolBlock(index: call.index, id: call.id, name: call.name)
            if !call.arguments.isEmpty { output += argumentsDelta(call.arguments) }
            output += closeBlock()
        }
        return output
    }

    private mutating func startMessageIfNeeded() -> [UInt8] {
        guard !startedMessage else { return [] }
        startedMessage = true
        let messageID = AnthropicMessagesResponseEncoder.messageID(id)
        return Self.event("message_start") {
            $0.key("message")
            $0.object {
                $0.field("id", messageID)
                $0.field("type", "message")
                $0.field("role", "assistant")
                $0.field("model", model)
                $0.key("content")
                $0.array { _ in }
                $0.field("stop_reason", nil as String?)
                $0.field("stop_sequence", nil as String?)
                $0.key("usage")
                AnthropicMessagesResponseEncoder.writeUsage(usage, into: &$0)
            }
        }
    }

    // MARK: - Framing

    /// A `content_block_delta` for the open block: `{"type":<type>,<field>:<value>}`.
    private func delta(_ type: String, _ field: String, _ value: String) -> [UInt8] {
        guard let index = open?.index else { preconditionFailure("AnthropicStreamEncoder: a delta with no open block") }
        return Self.event("content_block_delta") {
            $0.field("index", index)
            $0.key("delta")
            $0.object {
                $0.field("type", type)
                $0.field(field, value)
            }
        }
    }

    /// `event: <name>` and `data: {"type":<name>, …}`: the name always equals `data.type`.
    private static func event(_ name: String, _ body: (inout JSONWriter) -> Void) -> [UInt8] {
        var json = JSONWriter(capacity: 160)
        json.object {
            $0.field("type", name)
            body(&$0)
        }
        return event(name, json.bytes)
    }

    private static func event(_ name: String, _ data: [UInt8]) -> [UInt8] {
        Array("event: \(name)\ndata: ".utf8) + data + Array("\n\n".utf8)
    }
}

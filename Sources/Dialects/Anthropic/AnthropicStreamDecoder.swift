import GatewayCore

/// Turns an Anthropic Messages SSE stream into `CanonicalStreamEvent`s. Feed it upstream chunks
/// (split anywhere); it frames them with `SSEFramer` and returns the events they complete.
///
/// Tool calls are numbered by the order their `tool_use` blocks start (0, 1, …), whatever text or
/// thinking blocks come between; their `input_json_delta` pieces pass on as argument fragments.
/// Usage comes from `message_start` and each `message_delta` (cumulative: replaced, never added).
/// `ping`, `content_block_stop`, `citations_delta` and unknown events are ignored. An `error` event
/// ends the stream with `.error`; so does the body ending before `message_stop` (see `finish()`).
///
/// A pure per-request state machine: no I/O, no clock.
public struct AnthropicStreamDecoder: Sendable {
    private enum Block: Sendable {
        case text
        case thinking
        case toolUse(index: Int)
        /// Redacted thinking, server tools and unknown types: their deltas are ignored.
        case other
    }

    private enum State: Sendable {
        case streaming
        /// `message_stop` arrived.
        case complete
        /// An error ended the stream.
        case failed
    }

    private var framer = SSEFramer()
    /// One event passed `SSEFramer.maximumEventBytes`: the stream cannot be read further.
    public var oversizedEvent: Bool { framer.overflowed }
    private var state = State.streaming
    private var blocks: [Int: Block] = [:]
    private var toolCallCount = 0
    private var usageCounters = AnthropicUsage()
    private var sawUsage = false

    public init() {}

    /// True after `message_stop`.
    public var isComplete: Bool { if case .complete = state { true } else { false } }
    /// True after an in-stream error (or a malformed event).
    public var isFailed: Bool { if case .failed = state { true } else { false } }
    /// The latest usage seen, if any.
    public var usage: TokenUsage? { sawUsage ? usageCounters.tokenUsage : nil }

    public mutating func push(_ chunk: [UInt8]) -> [CanonicalStreamEvent] {
        var events: [CanonicalStreamEvent] = []
        for event in framer.push(chunk) {
            guard case .streaming = state else { break }
            guard !event.data.isEmpty else { continue }
            guard let data = DialectJSON.object(event.data) else {
                state = .failed
                events.append(.error(CanonicalError(.server, message: "The provider sent a malformed stream event.")))
                break
            }
            handle(name: event.name ?? data["type"] as? String ?? "", data, into: &events)
        }
        return events
    }

    /// The upstream body ended. A stream cut before `message_stop` yields an `.error`.
    public mutating func finish() -> [CanonicalStreamEvent] {
        _ = framer.finish()
        guard case .streaming = state else { return [] }
        state = .failed
        return [.error(CanonicalError(.server, message: "The provider's stream ended before the answer was complete."))]
    }

    private mutating func handle(name: String, _ data: [String: Any], into events: inout [CanonicalStreamEvent]) {
        switch name {
        case "message_start":
            let message = data["message"] as? [String: Any] ?? [:]
            events.append(.messageStart(id: message["id"] as? String ?? "", model: message["model"] as? String ?? ""))
            if let usage = message["usage"] as? [String: Any] { events.append(updateUsage(usage)) }
        case "content_block_start":
            blockStart(
                index: DialectJSON.int(data["index"]) ?? -1, data["content_block"] as? [String: Any] ?? [:],
                into: &events)
        case "content_block_delta":
            blockDelta(
                index: DialectJSON.int(data["index"]) ?? -1, data["delta"] as? [String: Any] ?? [:], into: &events)
        case "message_delta":
            if let usage = data["usage"] as? [String: Any] { events.append(updateUsage(usage)) }
            let delta = data["delta"] as? [String: Any] ?? [:]
            if let reason = delta["stop_reason"] as? String {
                let stopReason = AnthropicMessagesResponseDecoder.stopReason(reason)
                events.append(.finish(stopReason, stopSequence: delta["stop_sequence"] as? String))
            }
        case "message_stop":
            state = .complete
        case "error":
            let error = data["error"] as? [String: Any] ?? [:]
            state = .failed
            events.append(
                .error(
                    AnthropicErrorClassifier.classify(
                        status: nil,
                        type: error["type"] as? String,
                        message: error["message"] as? String
                    )
                )
            )
        default:
            break  // ping, content_block_stop, future event types
        }
    }

    private mutating func blockStart(index: Int, _ block: [String: Any], into events: inout [CanonicalStreamEvent]) {
        switch block["type"] as? String {
        case "text":
            blocks[index] = .text
            if let text = block["text"] as? String, !text.isEmpty { events.append(.textDelta(text)) }
        case "thinking":
            blocks[index] = .thinking
            if let text = block["thinking"] as? String, !text.isEmpty { events.append(.thinkingDelta(text)) }
            if let signature = block["signature"] as? String, !signature.isEmpty {
                events.append(.signatureDelta(signature))
            }
        case "tool_use":
            let toolIndex = toolCallCount
            toolCallCount += 1
            blocks[index] = .toolUse(index: toolIndex)
            events.append(
                .toolCallStart(index: toolIndex, id: block["id"] as? String ?? "", name: block["name"] as? String ?? "")
            )
            // The input normally starts empty (`{}`) and streams as deltas; a whole one is sent as one piece.
            if let input = block["input"] as? [String: Any], !input.isEmpty {
                let text = String(decoding: DialectJSON.bytes(input), as: UTF8.self)
                events.append(.toolCallArgumentsDelta(index: toolIndex, fragment: text))
            }
        case "redacted_thinking":
            blocks[index] = .other
            events.append(.redactedThinking(data: block["data"] as? String ?? ""))
        default:
            blocks[index] = .other
        }
    }

    private func blockDelta(index: Int, _ delta: [String: Any], into events: inout [CanonicalStreamEvent]) {
        switch (blocks[index], delta["type"] as? String) {
        case (.text, "text_delta"):
            if let text = delta["text"] as? String, !text.isEmpty { events.append(.textDelta(text)) }
        case (.thinking, "thinking_delta"):
            if let text = delta["thinking"] as? String, !text.isEmpty { events.append(.thinkingDelta(text)) }
        case (.thinking, "signature_delta"):
            if let signature = delta["signature"] as? String { events.append(.signatureDelta(signature)) }
        case (.toolUse(let toolIndex), "input_json_delta"):
            if let piece = delta["partial_json"] as? String, !piece.isEmpty {
                events.append(.toolCallArgumentsDelta(index: toolIndex, fragment: piece))
            }
        default:
            break  // citations, deltas for unknown or unstarted blocks
        }
    }

    private mutating func updateUsage(_ usage: [String: Any]) -> CanonicalStreamEvent {
        usageCounters = usageCounters.merging(usage)
        sawUsage = true
        return .usage(usageCounters.tokenUsage)
    }
}

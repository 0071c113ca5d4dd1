import GatewayCore

/// Turns an Anthropic Messages SSE stream into `CanonicalStreamEvent`s. `SSEStreamDecoder` frames
/// and parses the events; `AnthropicStreamEventHandler` reads them.
///
/// Tool calls are numbered by the order their `tool_use` blocks start (0, 1, …), whatever text or
/// thinking blocks come between; their `input_json_delta` pieces pass on as argument fragments.
/// Usage comes from `message_start` and each `message_delta` (cumulative: replaced, never added).
/// `ping`, `content_block_stop`, `citations_delta` and unknown events are ignored. An `error` event
/// ends the stream with `.error`; so do a malformed event and the body ending before `message_stop`.
///
/// A pure per-request state machine: no I/O, no clock.
public typealias AnthropicStreamDecoder = SSEStreamDecoder<AnthropicStreamEventHandler>

/// The Anthropic dialect's event handling in `AnthropicStreamDecoder`.
public struct AnthropicStreamEventHandler: StreamEventHandler {
    private enum Block: Sendable {
        case text
        case thinking
        case toolUse(index: Int)
        /// Redacted thinking, server tools and unknown types: their deltas are ignored.
        case other
    }

    private var blocks: [Int: Block] = [:]
    private var toolCallCount = 0
    private var usageCounters = AnthropicUsage()
    private var sawUsage = false

    public init() {}

    public var usage: TokenUsage? { sawUsage ? usageCounters.tokenUsage : nil }

    /// An event is named by its `event:` field, else by its data's `type`.
    public mutating func handle(name: String?, _ data: JSONObject, into events: inout [CanonicalStreamEvent])
        -> StreamEventStep
    {
        switch name ?? data["type"]?.string ?? "" {
        case "message_start":
            let message = data["message"]?.object ?? JSONObject()
            events.append(.messageStart(id: message["id"]?.string ?? "", model: message["model"]?.string ?? ""))
            if let usage = message["usage"]?.object { events.append(updateUsage(usage)) }
        case "content_block_start":
            blockStart(index: data["index"]?.int ?? -1, data["content_block"]?.object ?? JSONObject(), into: &events)
        case "content_block_delta":
            blockDelta(index: data["index"]?.int ?? -1, data["delta"]?.object ?? JSONObject(), into: &events)
        case "message_delta":
            if let usage = data["usage"]?.object { events.append(updateUsage(usage)) }
            let delta = data["delta"]?.object ?? JSONObject()
            if let reason = delta["stop_reason"]?.string {
                let stopReason = AnthropicMessagesResponseDecoder.stopReason(reason)
                events.append(.finish(stopReason, stopSequence: delta["stop_sequence"]?.string))
            }
        case "message_stop":
            return .complete
        case "error":
            let error = data["error"]?.object ?? JSONObject()
            return .failed(
                AnthropicErrorClassifier.classify(
                    status: nil, type: error["type"]?.string, message: error["message"]?.string))
        default:
            break  // ping, content_block_stop, future event types
        }
        return .streaming
    }

    private mutating func blockStart(index: Int, _ block: JSONObject, into events: inout [CanonicalStreamEvent]) {
        switch block["type"]?.string {
        case "text":
            blocks[index] = .text
            if let text = block["text"]?.string, !text.isEmpty { events.append(.textDelta(text)) }
        case "thinking":
            blocks[index] = .thinking
            if let text = block["thinking"]?.string, !text.isEmpty { events.append(.thinkingDelta(text)) }
            if let signature = block["signature"]?.string, !signature.isEmpty {
                events.append(.signatureDelta(signature))
            }
        case "tool_use":
            let toolIndex = toolCallCount
            toolCallCount += 1
            blocks[index] = .toolUse(index: toolIndex)
            events.append(
                .toolCallStart(index: toolIndex, id: block["id"]?.string ?? "", name: block["name"]?.string ?? "")
            )
            // The input normally starts empty (`{}`) and streams as deltas; a whole one is sent as one piece.
            if let input = block["input"], let object = input.object, !object.isEmpty {
                let text = String(decoding: input.bytes, as: UTF8.self)
                events.append(.toolCallArgumentsDelta(index: toolIndex, fragment: text))
            }
        case "redacted_thinking":
            blocks[index] = .other
            events.append(.redactedThinking(data: block["data"]?.string ?? ""))
        default:
            blocks[index] = .other
        }
    }

    private func blockDelta(index: Int, _ delta: JSONObject, into events: inout [CanonicalStreamEvent]) {
        switch (blocks[index], delta["type"]?.string) {
        case (.text, "text_delta"):
            if let text = delta["text"]?.string, !text.isEmpty { events.append(.textDelta(text)) }
        case (.thinking, "thinking_delta"):
            if let text = delta["thinking"]?.string, !text.isEmpty { events.append(.thinkingDelta(text)) }
        case (.thinking, "signature_delta"):
            if let signature = delta["signature"]?.string { events.append(.signatureDelta(signature)) }
        case (.toolUse(let toolIndex), "input_json_delta"):
            if let piece = delta["partial_json"]?.string, !piece.isEmpty {
                events.append(.toolCallArgumentsDelta(index: toolIndex, fragment: piece))
            }
        default:
            break  // citations, deltas for unknown or unstarted blocks
        }
    }

    private mutating func updateUsage(_ usage: JSONObject) -> CanonicalStreamEvent {
        usageCounters = usageCounters.merging(usage)
        sawUsage = true
        return .usage(usageCounters.tokenUsage)
    }
}

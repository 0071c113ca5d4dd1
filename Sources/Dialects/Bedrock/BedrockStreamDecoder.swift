import GatewayCore

/// Turns a ConverseStream body (binary `application/vnd.amazon.eventstream` frames, split
/// anywhere) into `CanonicalStreamEvent`s (docs/wire/bedrock.md §4). `AWSEventStreamFramer`
/// checks the frames; each `:event-type` payload is that event's JSON, with no wrapper key.
///
/// - `messageStart` starts the message; text deltas, tool-use starts (numbered in the order they
///   start) with their `input` pieces, and reasoning text, signature and redacted content become
///   their canonical deltas. Blocks are keyed by `contentBlockIndex` (text blocks have no start).
/// - `messageStop` carries the stop reason, but usage comes after it in `metadata`: the finish is
///   held until `metadata` (or the body's end) and the stream completes there. `malformed_*` stop
///   reasons fail the stream.
/// - An exception frame (`:message-type: exception`, `:exception-type`, `{"message"}`), an error
///   frame (`:error-code`, `:error-message`), a bad CRC or an oversize frame fails it; so does a
///   body that ends before `messageStop`. The `"p"` padding is ignored.
///
/// A pure per-request state machine: no I/O, no clock.
public struct BedrockStreamDecoder: CanonicalStreamDecoder {
    private enum State: Sendable {
        case streaming
        case stopped(CanonicalStopReason)
        case complete
        case failed
    }

    private var framer = AWSEventStreamFramer()
    private var state = State.streaming
    private var started = false
    /// Tool call number by `contentBlockIndex`.
    private var toolCalls: [Int: Int] = [:]
    public private(set) var usage: TokenUsage?

    public init() {}

    public var isComplete: Bool { if case .complete = state { true } else { false } }
    /// Oversize frames fail the stream with an error event of their own (`AWSEventStreamFramer`).
    public var oversizedEvent: Bool { false }

    public mutating func push(_ chunk: [UInt8]) -> [CanonicalStreamEvent] {
        guard isOpen else { return [] }
        var events: [CanonicalStreamEvent] = []
        let messages: [AWSEventStreamMessage]
        do {
            messages = try framer.push(chunk)
        } catch {
            fail(CanonicalError(.server, message: "The provider's stream is corrupt: \(error)."), into: &events)
            return events
        }
        for message in messages {
            guard isOpen else { break }
            read(message, into: &events)
        }
        return events
    }

    public mutating func finish() -> [CanonicalStreamEvent] {
        var events: [CanonicalStreamEvent] = []
        switch state {
        case .stopped(let reason):
            // No `metadata` frame: the answer is still whole.
            events.append(.finish(reason, stopSequence: nil))
            state = .complete
        case .streaming:
            let detail = framer.pendingBytes > 0 ? " (inside a frame)" : ""
            fail(
                CanonicalError(
                    .server, message: "The provider's stream ended before the answer was complete\(detail)."),
                into: &events)
        case .complete, .failed:
            break
        }
        return events
    }

    private var isOpen: Bool {
        switch state {
        case .streaming, .stopped: true
        case .complete, .failed: false
        }
    }

    private mutating func fail(_ error: CanonicalError, into events: inout [CanonicalStreamEvent]) {
        state = .failed
        events.append(.error(error))
    }

    private mutating func read(_ message: AWSEventStreamMessage, into events: inout [CanonicalStreamEvent]) {
        switch message.string(":message-type") {
        case "event":
            break
        case "exception":
            let type = message.string(":exception-type")
            return fail(BedrockErrorClassifier.classify(status: nil, type: type, body: message.payload), into: &events)
        case "error":
            return fail(
                BedrockErrorClassifier.classify(
                    status: nil, type: message.string(":error-code"), message: message.string(":error-message")),
                into: &events)
        default:
            return fail(CanonicalError(.server, message: "The provider sent an unknown stream frame."), into: &events)
        }
        guard let payload = JSONScanner.parseObject(message.payload) else {
            return fail(CanonicalError(.server, message: "The provider sent a malformed stream event."), into: &events)
        }
        if !started {
            started = true
            events.append(.messageStart(id: "", model: ""))
        }
        switch message.string(":event-type") {
        case "contentBlockStart":
            guard let index = payload["contentBlockIndex"]?.int, let toolUse = payload["start"]?["toolUse"]?.object
            else { return }
            let number = toolCalls.count
            toolCalls[index] = number
            events.append(
                .toolCallStart(
                    index: number, id: toolUse["toolUseId"]?.string ?? "", name: toolUse["name"]?.string ?? ""))
        case "contentBlockDelta":
            guard let delta = payload["delta"]?.object else { return }
            if let text = delta["text"]?.string {
                if !text.isEmpty { events.append(.textDelta(text)) }
            } else if let input = delta["toolUse"]?["input"]?.string {
                guard let index = payload["contentBlockIndex"]?.int, let number = toolCalls[index] else {
                    return fail(
                        CanonicalError(
                            .server, message: "The provider streamed tool input for a block it never started."),
                        into: &events)
                }
                if !input.isEmpty { events.append(.toolCallArgumentsDelta(index: number, fragment: input)) }
            } else if let reasoning = delta["reasoningContent"]?.object {
                if let text = reasoning["text"]?.string, !text.isEmpty { events.append(.thinkingDelta(text)) }
                if let signature = reasoning["signature"]?.string, !signature.isEmpty {
                    events.append(.signatureDelta(signature))
                }
                if let redacted = reasoning["redactedContent"]?.string {
                    events.append(.redactedThinking(data: redacted))
                }
            }
        case "messageStop":
            let reason = payload["stopReason"]?.string ?? "end_turn"
            guard let stop = BedrockResponseDecoder.stopReason(reason) else {
                return fail(BedrockResponseDecoder.malformedOutput(reason), into: &events)
            }
            state = .stopped(stop)
        case "metadata":
            if let usage = payload["usage"]?.object.map(BedrockResponseDecoder.usage) {
                self.usage = usage
                events.append(.usage(usage))
            }
            if case .stopped(let reason) = state {
                events.append(.finish(reason, stopSequence: nil))
                state = .complete
            }
        default:
            // `messageStart`, `contentBlockStop`, and events added later.
            break
        }
    }
}

import GatewayCore

/// Turns a Gemini `streamGenerateContent?alt=sse` body into `CanonicalStreamEvent`s. Feed it
/// upstream chunks (split anywhere, CR, LF or CRLF line ends); it frames them with `SSEFramer`.
///
/// Every `data:` event is a whole `GenerateContentResponse` holding only new parts: text becomes
/// text deltas, `thought: true` text thinking deltas, and each `functionCall` (always whole) a
/// `toolCallStart` (id `call_<index>`) plus one arguments delta. `usageMetadata` is a running total
/// (the latest replaces earlier ones). The last `finishReason` seen is reported when the body
/// ends: there is no terminator, and older models put `STOP` on every chunk. A blocked prompt
/// (`promptFeedback.blockReason`) finishes as `contentFilter`.
///
/// `data: {"error":…}`, a malformed event, or a raw JSON error written after the events end the
/// stream with `.error`; so does a body that ends before any `finishReason` (see `finish()`).
///
/// A pure per-request state machine: no I/O, no clock.
public struct GeminiStreamDecoder: Sendable {
    private enum State: Sendable {
        case streaming
        /// The body ended after a finish reason.
        case complete
        /// An error ended the stream.
        case failed
    }

    private var framer = SSEFramer()
    /// One event passed `SSEFramer.maximumEventBytes`: the stream cannot be read further.
    public var oversizedEvent: Bool { framer.overflowed }
    private var state = State.streaming
    private var started = false
    private var toolCallCount = 0
    private var finishReason: String?
    private var blocked = false
    private var latestUsage: TokenUsage?

    public init() {}

    /// True once the body ended after a finish reason.
    public var isComplete: Bool { if case .complete = state { true } else { false } }
    /// True after an in-stream error, a malformed event, or a cut stream.
    public var isFailed: Bool { if case .failed = state { true } else { false } }
    /// The latest usage seen, if any.
    public var usage: TokenUsage? { latestUsage }

    public mutating func push(_ chunk: [UInt8]) -> [CanonicalStreamEvent] {
        var events: [CanonicalStreamEvent] = []
        for event in framer.push(chunk) {
            guard case .streaming = state else { break }
            guard !event.data.isEmpty else { continue }
            handle(event.data, into: &events)
        }
        return events
    }

    /// The upstream body ended: the finish, or an `.error` when the stream was cut or failed.
    public mutating func finish() -> [CanonicalStreamEvent] {
        let rest = framer.finish()
        guard case .streaming = state else { return [] }
        var events: [CanonicalStreamEvent] = []
        if let tail = trimmed(rest), !tail.isEmpty {
            if tail.starts(with: "data:".utf8) {
                // A last event without its blank line.
                var data = Array(tail.dropFirst(5))
                if data.first == UInt8(ascii: " ") { data.removeFirst() }
                handle(data, into: &events)
            } else if let error = GeminiErrorClassifier.errorObject(tail) {
                fail(GeminiErrorClassifier.classify(status: nil, error: error), into: &events)
            }
        }
        guard case .streaming = state else { return events }
        if let reason = finishReason {
            state = .complete
            events.append(
                .finish(GeminiResponseDecoder.finishReason(reason, sawToolCall: toolCallCount > 0), stopSequence: nil))
        } else if blocked {
            state = .complete
            events.append(.finish(.contentFilter, stopSequence: nil))
        } else {
            fail(
                CanonicalError(.server, message: "The provider's stream ended before the answer was complete."),
                into: &events)
        }
        return events
    }

    private func trimmed(_ bytes: [UInt8]) -> [UInt8]? {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return nil }
        return Array(bytes[first...last])
    }

    private mutating func fail(_ error: CanonicalError, into events: inout [CanonicalStreamEvent]) {
        state = .failed
        events.append(.error(error))
    }

    private mutating func handle(_ bytes: [UInt8], into events: inout [CanonicalStreamEvent]) {
        guard let data = DialectJSON.object(bytes) else {
            return fail(CanonicalError(.server, message: "The provider sent a malformed stream event."), into: &events)
        }
        if let error = data["error"] as? [String: Any] {
            return fail(GeminiErrorClassifier.classify(status: nil, error: error), into: &events)
        }
        if !started {
            started = true
            events.append(
                .messageStart(id: data["responseId"] as? String ?? "", model: data["modelVersion"] as? String ?? ""))
        }
        let candidate = (data["candidates"] as? [Any])?.first as? [String: Any]
        for part in (candidate?["content"] as? [String: Any])?["parts"] as? [Any] ?? [] {
            guard let part = part as? [String: Any] else { continue }
            if let call = part["functionCall"] as? [String: Any] {
                let toolCall = GeminiResponseDecoder.toolCall(
                    call, index: toolCallCount, signature: part["thoughtSignature"] as? String)
                events.append(.toolCallStart(index: toolCallCount, id: toolCall.id, name: toolCall.name))
                events.append(.toolCallArgumentsDelta(index: toolCallCount, fragment: toolCall.arguments))
                toolCallCount += 1
            } else if let text = part["text"] as? String {
                if DialectJSON.bool(part["thought"]) == true {
                    if !text.isEmpty { events.append(.thinkingDelta(text)) }
                    if let signature = part["thoughtSignature"] as? String, !signature.isEmpty {
                        events.append(.signatureDelta(signature))
                    }
                } else if !text.isEmpty {
                    events.append(.textDelta(text))
                }
            }
        }
        if let reason = candidate?["finishReason"] as? String { finishReason = reason }
        if candidate == nil, (data["promptFeedback"] as? [String: Any])?["blockReason"] is String { blocked = true }
        if let usage = data["usageMetadata"] as? [String: Any] {
            let tokens = GeminiUsage(usage).tokenUsage
            latestUsage = tokens
            events.append(.usage(tokens))
        }
    }
}

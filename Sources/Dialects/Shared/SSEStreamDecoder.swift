import GatewayCore

/// What one event (or the end of the body) did to a provider stream.
public enum StreamEventStep: Sendable {
    /// Keep reading.
    case streaming
    /// The provider ended the answer properly.
    case complete
    /// An error ends the stream (an in-stream error event, or what the dialect found wrong).
    case failed(CanonicalError)
}

/// A dialect's part of reading its provider's SSE stream: the handling of each event and of the
/// body's end. Framing, the event loop, JSON parsing and the stream's state are
/// `SSEStreamDecoder`'s, the same for every dialect.
public protocol StreamEventHandler: Sendable {
    init()
    /// True for `data` that completes the stream without being JSON (OpenAI's `[DONE]`).
    static func isTerminator(_ data: [UInt8]) -> Bool
    /// One event whose data is a JSON object; `name` is its `event:` field. Appends the canonical
    /// events it gives.
    mutating func handle(name: String?, _ data: JSONObject, into events: inout [CanonicalStreamEvent])
        -> StreamEventStep
    /// The data of a last event the body ended inside (no blank line after it), when it is to be
    /// read as an event; nil (the default) when the rest is only the cut.
    func lastEventData(in rest: [UInt8]) -> [UInt8]?
    /// The body ended and the stream is still open: complete it, fail it, or `.streaming` (the
    /// default) to report a cut stream. `rest` is what followed the last complete event.
    mutating func end(rest: [UInt8], into events: inout [CanonicalStreamEvent]) -> StreamEventStep
    /// The latest usage seen, if any.
    var usage: TokenUsage? { get }
}

extension StreamEventHandler {
    public static func isTerminator(_ data: [UInt8]) -> Bool { false }
    public func lastEventData(in rest: [UInt8]) -> [UInt8]? { nil }
    public mutating func end(rest: [UInt8], into events: inout [CanonicalStreamEvent]) -> StreamEventStep {
        .streaming
    }
}

/// A provider's SSE stream into `CanonicalStreamEvent`s: upstream chunks (split anywhere) are
/// framed by `SSEFramer`; each event with data is parsed as a JSON object and given to the
/// dialect's `Handler`, until one completes or fails the stream. Events without data (comments,
/// keep-alives) are skipped; data that is not a JSON object (nor the dialect's terminator) fails
/// the stream as malformed; a body that ends with the stream still open fails it as cut.
///
/// A pure per-request state machine: no I/O, no clock.
public struct SSEStreamDecoder<Handler: StreamEventHandler>: CanonicalStreamDecoder {
    private enum State: Sendable {
        case streaming
        case complete
        case failed
    }

    private var framer = SSEFramer()
    private var handler = Handler()
    private var state = State.streaming

    public init() {}

    /// True once the provider ended the answer properly.
    public var isComplete: Bool { if case .complete = state { true } else { false } }
    /// True after an in-stream error, a malformed event, or a cut stream.
    public var isFailed: Bool { if case .failed = state { true } else { false } }
    /// The latest usage seen, if any.
    public var usage: TokenUsage? { handler.usage }
    /// One event passed `SSEFramer.maximumEventBytes`: the stream cannot be read further.
    public var oversizedEvent: Bool { framer.overflowed }

    public mutating func push(_ chunk: [UInt8]) -> [CanonicalStreamEvent] {
        var events: [CanonicalStreamEvent] = []
        for event in framer.push(chunk) {
            guard case .streaming = state else { break }
            guard !event.data.isEmpty else { continue }
            read(name: event.name, data: event.data, into: &events)
        }
        return events
    }

    /// The upstream body ended: the handler's last event and its end of the stream, or an
    /// `.error` when the stream was cut.
    public mutating func finish() -> [CanonicalStreamEvent] {
        let rest = framer.finish()
        guard case .streaming = state else { return [] }
        var events: [CanonicalStreamEvent] = []
        if let data = handler.lastEventData(in: rest) { read(name: nil, data: data, into: &events) }
        guard case .streaming = state else { return events }
        apply(handler.end(rest: rest, into: &events), into: &events)
        guard case .streaming = state else { return events }
        apply(
            .failed(CanonicalError(.server, message: "The provider's stream ended before the answer was complete.")),
            into: &events)
        return events
    }

    private mutating func read(name: String?, data: [UInt8], into events: inout [CanonicalStreamEvent]) {
        if Handler.isTerminator(data) { return apply(.complete, into: &events) }
        guard let object = JSONScanner.parseObject(data) else {
            return apply(
                .failed(CanonicalError(.server, message: "The provider sent a malformed stream event.")), into: &events)
        }
        apply(handler.handle(name: name, object, into: &events), into: &events)
    }

    private mutating func apply(_ step: StreamEventStep, into events: inout [CanonicalStreamEvent]) {
        switch step {
        case .streaming: break
        case .complete: state = .complete
        case .failed(let error):
            state = .failed
            events.append(.error(error))
        }
    }
}

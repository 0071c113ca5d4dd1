import GatewayCore

/// Relays an Anthropic Messages stream from an Anthropic provider to an Anthropic-dialect client.
/// Events pass through byte for byte; an `AnthropicStreamDecoder` only watches them, to learn
/// the usage, the `message_stop` terminator, in-band `error` events and the commit point: the
/// preamble (`message_start`, `ping`, an empty block start) is held back until the first real
/// output, so that a failure before it can still fail over invisibly.
///
/// Event types in `droppedEvents` (Vertex AI's `vertex_event`) are not relayed at all.
///
/// A pure state machine: feed it upstream chunks, send what it returns.
public struct AnthropicStreamRelay: StreamTranslator {
    private var framer = SSEFramer()
    /// One event passed `SSEFramer.maximumEventBytes`: the stream cannot be read further.
    public var oversizedEvent: Bool { framer.overflowed }
    private var decoder = AnthropicStreamDecoder()
    private var preamble: [UInt8] = []
    private var preambleEvents = 0
    public private(set) var committed = false
    public private(set) var sawError = false
    /// Event types never relayed (Vertex AI's `vertex_event`, which strict clients reject).
    private let droppedEvents: Set<String>

    /// `droppedEvents`: event types (by `event:` name, else by the data's `type`) left out.
    public init(droppedEvents: Set<String> = []) {
        self.droppedEvents = droppedEvents
    }

    public var sawDone: Bool { decoder.isComplete }
    public var usage: TokenUsage? { decoder.usage }

    public mutating func push(_ chunk: [UInt8]) -> [UInt8] {
        var output: [UInt8] = []
        for event in framer.push(chunk) where !isDropped(event) {
            // Each framed event goes to the decoder whole, so its canonical events belong to it.
            let canonical = decoder.push(event.raw)
            if canonical.contains(where: { if case .error = $0 { true } else { false } }) {
                sawError = true
                // Before any output the error is a failed attempt; the pipeline fails over.
                if !committed { return [] }
            }
            if committed {
                output += event.raw
                continue
            }
            if !canonical.contains(where: \.isRealOutput) && preambleEvents < OpenAIStreamRelay.maximumPreambleEvents
                && preamble.count + event.raw.count <= OpenAIStreamRelay.maximumPreambleBytes
            {
                preamble += event.raw
                preambleEvents += 1
                continue
            }
            committed = true
            output += preamble + event.raw
            preamble = []
        }
        return output
    }

    /// The body ended. A passthrough stream has nothing to add; a partial event (a cut stream)
    /// is dropped, never sent half. A preamble still held is released when the answer completed.
    public mutating func finish() -> [UInt8] {
        _ = framer.finish()
        guard decoder.isComplete, !committed else { return [] }
        return releasePreamble()
    }

    private func isDropped(_ event: SSEEvent) -> Bool {
        guard !droppedEvents.isEmpty else { return false }
        if let name = event.name { return droppedEvents.contains(name) }
        guard let scan = try? JSONScanner.scanObject(event.data), let type = scan.member("type") else { return false }
        return JSONScanner.string(event.data, at: type.valueRange).map(droppedEvents.contains) ?? false
    }

    public mutating func releasePreamble() -> [UInt8] {
        committed = true
        defer { preamble = [] }
        return preamble
    }
}

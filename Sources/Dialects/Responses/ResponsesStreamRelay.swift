import GatewayCore

/// Relays a Responses stream from an OpenAI or Azure target to a Responses client, byte for byte.
/// The relay only watches the events: `response.created`, `response.in_progress` and
/// `response.queued` are the preamble held back until the first real output (so a failure before
/// it can still fail over); an `error` event or a `response.failed` before that is a failed
/// attempt; `response.completed`, `response.incomplete` (and a committed `response.failed`) end
/// the answer and carry its usage and final object; `sequence_number` is followed so that a cut
/// made by the gateway is numbered after the last event sent.
public struct ResponsesStreamRelay: StreamTranslator {
    private var framer = SSEFramer()
    public var oversizedEvent: Bool { framer.overflowed }
    public private(set) var usage: TokenUsage?
    public private(set) var sawDone = false
    public private(set) var sawError = false
    public private(set) var committed = false
    public private(set) var finalResponse: [UInt8]?
    private var preamble: [UInt8] = []
    private var preambleEvents = 0
    private var lastSequenceNumber: Int?

    public init() {}

    public mutating func push(_ chunk: [UInt8]) -> [UInt8] {
        let events = framer.push(chunk)
        if events.isEmpty { return [] }
        var output: [UInt8] = []
        for event in events {
            let type = watch(event)
            if !committed {
                let preambleType =
                    type == "response.created" || type == "response.in_progress" || type == "response.queued"
                if preambleType && preambleEvents < OpenAIStreamRelay.maximumPreambleEvents
                    && preamble.count + event.raw.count <= OpenAIStreamRelay.maximumPreambleBytes
                {
                    preamble += event.raw
                    preambleEvents += 1
                    continue
                }
                if sawError { return [] }
                committed = true
                output += preamble
                preamble = []
            }
            output += event.raw
        }
        return output
    }

    public mutating func finish() -> [UInt8] {
        _ = framer.finish()
        return []
    }

    public mutating func releasePreamble() -> [UInt8] {
        committed = true
        defer { preamble = [] }
        return preamble
    }

    public func cutEvent(_ error: GatewayError, dialect: ClientDialect) -> [UInt8] {
        dialect.streamErrorEvent(error, sequenceNumber: (lastSequenceNumber ?? -1) + 1)
    }

    /// Notes what `event` means for the attempt; returns its type.
    private mutating func watch(_ event: SSEEvent) -> String? {
        guard event.data.first == UInt8(ascii: "{"), let scan = try? JSONScanner.scanObject(event.data) else {
            return event.name
        }
        if let sequence = scan.member("sequence_number"),
            let value = JSONScanner.integer(event.data, at: sequence.valueRange)
        {
            lastSequenceNumber = value
        }
        let type = scan.member("type").flatMap { JSONScanner.string(event.data, at: $0.valueRange) } ?? event.name
        switch type {
        case "error":
            sawError = true
        case "response.failed" where !committed:
            sawError = true
        case "response.completed", "response.incomplete", "response.failed":
            sawDone = true
            if let response = scan.member("response"), response.kind == .object {
                finalResponse = Array(event.data[response.valueRange])
                if let object = try? JSONScanner.parse(event.data, in: response.valueRange),
                    let reported = object["usage"]
                {
                    usage = TokenUsage.responses(reported)
                }
            }
        default:
            break
        }
        return type
    }
}

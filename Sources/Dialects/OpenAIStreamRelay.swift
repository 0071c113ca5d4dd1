import GatewayCore

/// Relays an OpenAI SSE stream from an OpenAI-compatible provider to an OpenAI-dialect client.
/// Events pass through byte for byte; the relay only watches them: it reads the usage chunk
/// (and drops it when the client did not ask for it — the gateway forced it on), notes the
/// `[DONE]` terminator and in-band `{"error":…}` events.
///
/// A pure state machine: feed it upstream chunks, send what it returns.
public struct OpenAIStreamRelay: Sendable {
    private var framer = SSEFramer()
    private let forwardUsageChunk: Bool
    public private(set) var usage: TokenUsage?
    public private(set) var sawDone = false
    public private(set) var sawError = false
    public private(set) var eventCount = 0

    /// - Parameter forwardUsageChunk: the client asked for `stream_options.include_usage`.
    public init(forwardUsageChunk: Bool) {
        self.forwardUsageChunk = forwardUsageChunk
    }

    /// Takes one upstream chunk; returns the bytes to send to the client now (possibly none).
    public mutating func push(_ chunk: [UInt8]) -> [UInt8] {
        let events = framer.push(chunk)
        if events.isEmpty { return [] }
        var output: [UInt8] = []
        output.reserveCapacity(chunk.count + framer.pendingByteCount)
        for event in events where keep(event) {
            output.append(contentsOf: event.raw)
        }
        return output
    }

    /// The upstream body ended: whatever was left unterminated (only on a cut stream).
    public mutating func finish() -> [UInt8] {
        framer.finish()
    }

    private mutating func keep(_ event: SSEEvent) -> Bool {
        guard !event.data.isEmpty else { return true }
        eventCount += 1
        if event.isDone {
            sawDone = true
            return true
        }
        guard event.data.first == UInt8(ascii: "{"), let scan = try? JSONScanner.scanObject(event.data) else {
            return true
        }
        if let error = scan.member("error"), error.kind == .object {
            sawError = true
            return true
        }
        guard let usageMember = scan.member("usage"), usageMember.kind == .object else { return true }
        usage = TokenUsage.openAI(event.data, at: usageMember.valueRange)
        if forwardUsageChunk { return true }
        // The usage-only chunk (`"choices":[]`) exists because the gateway asked for it.
        if let choices = scan.member("choices"), choices.kind == .array,
            choices.valueRange.count <= 2
                || event.data[choices.valueRange].dropFirst().dropLast().allSatisfy({ $0 == 0x20 })
        {
            return false
        }
        return true
    }
}

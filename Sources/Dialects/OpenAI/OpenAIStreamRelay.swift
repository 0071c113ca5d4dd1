import GatewayCore

/// Relays an OpenAI SSE stream from an OpenAI-compatible provider to an OpenAI-dialect client.
/// Events pass through byte for byte; the relay only watches them: it reads the usage chunk
/// (and drops it when the client did not ask for it — the gateway forced it on), notes the
/// `[DONE]` terminator and in-band `{"error":…}` events.
///
/// From Azure (`normalizingAzure`) an OpenAI client sees what OpenAI would send: chunks with no
/// `choices` other than the usage chunk (Azure's `prompt_filter_results` annotation chunk, with its
/// empty `id` and `object`) are dropped, and an empty `object` reads `chat.completion.chunk`.
/// `content_filter_results` stay on the chunks that carry them (SDKs ignore unknown keys).
///
/// A pure state machine: feed it upstream chunks, send what it returns.
public struct OpenAIStreamRelay: StreamTranslator {
    private var framer = SSEFramer()
    /// One event passed `SSEFramer.maximumEventBytes`: the stream cannot be read further.
    public var oversizedEvent: Bool { framer.overflowed }
    private let forwardUsageChunk: Bool
    private let normalizingAzure: Bool
    public private(set) var usage: TokenUsage?
    public private(set) var sawDone = false
    public private(set) var sawError = false
    public private(set) var eventCount = 0
    /// True once real output (content, a tool call, a refusal, a finish) has been released; until
    /// then the preamble is held back so that a failure can still fail over invisibly.
    public private(set) var committed = false
    private var preamble: [UInt8] = []
    private var preambleEvents = 0

    /// Bounds of the held-back preamble; past them the stream is released anyway.
    public static let maximumPreambleEvents = 16
    public static let maximumPreambleBytes = 64 * 1024

    /// - Parameters:
    ///   - forwardUsageChunk: the client asked for `stream_options.include_usage`.
    ///   - normalizingAzure: the provider is Azure and the client gets OpenAI-shaped chunks.
    public init(forwardUsageChunk: Bool, normalizingAzure: Bool = false) {
        self.forwardUsageChunk = forwardUsageChunk
        self.normalizingAzure = normalizingAzure
    }

    /// Takes one upstream chunk; returns the bytes to send to the client now (possibly none).
    public mutating func push(_ chunk: [UInt8]) -> [UInt8] {
        let events = framer.push(chunk)
        if events.isEmpty { return [] }
        var output: [UInt8] = []
        output.reserveCapacity(chunk.count + framer.pendingByteCount)
        for var event in events where keep(event) {
            if normalizingAzure {
                guard let normalized = Self.normalizedAzure(event) else { continue }
                event = normalized
            }
            if !committed {
                if Self.isPreamble(event) && !sawError && preambleEvents < Self.maximumPreambleEvents
                    && preamble.count + event.raw.count <= Self.maximumPreambleBytes
                {
                    preamble.append(contentsOf: event.raw)
                    preambleEvents += 1
                    continue
                }
                // An in-band error before any output is a failed attempt, not an answer.
                if sawError { return [] }
                committed = true
                output.append(contentsOf: preamble)
                preamble = []
            }
            output.append(contentsOf: event.raw)
        }
        return output
    }

    /// Releases a held preamble (the stream ended normally before any real output).
    public mutating func releasePreamble() -> [UInt8] {
        committed = true
        defer { preamble = [] }
        return preamble
    }

    /// A chunk with nothing the client would see: a role-only or empty delta, no finish reason.
    static func isPreamble(_ event: SSEEvent) -> Bool {
        guard !event.isDone, event.data.first == UInt8(ascii: "{"),
            let object = JSONScanner.parseObject(event.data)
        else { return false }
        if object["error"] != nil { return false }
        guard let elements = object["choices"]?.array else { return false }
        let choices = elements.compactMap(\.object)
        guard choices.count == elements.count else { return false }
        // No choices: Azure's `prompt_filter_results` chunk is preamble; OpenAI's usage chunk is not.
        if choices.isEmpty { return object["usage"]?.isNull ?? true }
        for choice in choices {
            if let finish = choice["finish_reason"], !finish.isNull { return false }
            // A text completion chunk (`/v1/completions`).
            if let text = choice["text"]?.string, !text.isEmpty { return false }
            guard let delta = choice["delta"]?.object else { continue }
            if let content = delta["content"]?.string, !content.isEmpty { return false }
            if let refusal = delta["refusal"]?.string, !refusal.isEmpty { return false }
            if let calls = delta["tool_calls"]?.array, !calls.isEmpty { return false }
            if delta["function_call"] != nil || delta["audio"] != nil { return false }
        }
        return true
    }

    /// `event` as an OpenAI client expects it, or nil to drop it: no `choices` and no usage (the
    /// annotation chunk); an empty `object` filled in.
    static func normalizedAzure(_ event: SSEEvent) -> SSEEvent? {
        guard !event.isDone, event.data.first == UInt8(ascii: "{"),
            let scan = try? JSONScanner.scanObject(event.data)
        else { return event }
        if let error = scan.member("error"), error.kind == .object { return event }
        if let choices = scan.member("choices"), choices.kind == .array,
            event.data[choices.valueRange].dropFirst().dropLast().allSatisfy({ $0 == 0x20 }),
            scan.member("usage")?.kind != .object
        {
            return nil
        }
        guard let object = scan.member("object"), event.data[object.valueRange].elementsEqual(#""""#.utf8) else {
            return event
        }
        var data = Array(event.data[..<object.valueRange.lowerBound])
        data.append(contentsOf: #""chat.completion.chunk""#.utf8)
        data.append(contentsOf: event.data[object.valueRange.upperBound...])
        return SSEEvent(raw: Array("data: ".utf8) + data + [0x0A, 0x0A], name: event.name, data: data)
    }

    /// The upstream body ended. A passthrough stream has nothing to add; an unterminated
    /// partial event (a cut stream) is dropped, never sent half.
    public mutating func finish() -> [UInt8] {
        _ = framer.finish()
        return []
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

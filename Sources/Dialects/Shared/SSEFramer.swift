/// One server-sent event, as framed by `SSEFramer`.
public struct SSEEvent: Sendable, Equatable {
    /// The event's bytes exactly as received, including the blank line that ended it.
    public var raw: [UInt8]
    /// The `event:` field, when there is one.
    public var name: String?
    /// The `data:` lines joined with `\n` (the SSE rule), without the field name.
    public var data: [UInt8]

    public init(raw: [UInt8], name: String?, data: [UInt8]) {
        self.raw = raw
        self.name = name
        self.data = data
    }

    /// True for OpenAI's terminator, `data: [DONE]`.
    public var isDone: Bool { data.starts(with: "[DONE]".utf8) }
}

/// Incremental SSE framing (WHATWG rules): upstream chunks may split anywhere, even inside a
/// line terminator, so bytes are buffered until a blank line ends an event. Lines end with
/// `\n`, `\r\n` or `\r`. Comment lines (`:`) and fields other than `event`/`data` are kept in
/// `raw` and otherwise ignored.
///
/// Each byte is examined once: a push resumes scanning where the previous one stopped, so a
/// long line arriving in small chunks costs linear time. An event may hold at most
/// `maximumEventBytes`; past that (an upstream that never sends a newline) the framer stops,
/// drops what it holds and reports `overflowed`, and every later push returns nothing.
public struct SSEFramer: Sendable {
    /// The default cap on one event, terminators included.
    public static let defaultMaximumEventBytes = 16 * 1024 * 1024

    public let maximumEventBytes: Int
    private var buffer: [UInt8] = []
    /// Start of the line being collected in `buffer`.
    private var lineStart = 0
    /// Where scanning for a line terminator resumes (everything before it has been examined).
    private var scanFrom = 0
    private var eventName: String?
    private var data: [UInt8] = []
    private var hasData = false
    /// The event being collected passed `maximumEventBytes`; the stream cannot be framed further.
    public private(set) var overflowed = false
    /// Bytes examined for line terminators so far (each byte once; tests check that).
    private(set) var scannedByteCount = 0

    public init(maximumEventBytes: Int = SSEFramer.defaultMaximumEventBytes) {
        self.maximumEventBytes = max(1, maximumEventBytes)
    }

    /// Bytes received but not yet part of a complete event.
    public var pendingByteCount: Int { buffer.count }

    public mutating func push(_ chunk: [UInt8]) -> [SSEEvent] {
        guard !overflowed else { return [] }
        buffer.append(contentsOf: chunk)
        var events: [SSEEvent] = []
        var index = scanFrom
        var eventStart = 0
        while index < buffer.count {
            index = Self.nextTerminator(in: buffer, from: index)
            guard index < buffer.count else { break }
            let byte = buffer[index]
            var lineEnd = index + 1
            if byte == 0x0D {
                // A CR at the end of the buffer may be the first half of CRLF: wait for more.
                guard index + 1 < buffer.count else { break }
                if buffer[index + 1] == 0x0A { lineEnd += 1 }
            }
            if index == lineStart {
                // Blank line: dispatch what has been collected (WHATWG: only if it has data).
                if hasData || eventName != nil {
                    events.append(SSEEvent(raw: Array(buffer[eventStart..<lineEnd]), name: eventName, data: data))
                } else if lineEnd > eventStart {
                    // Comments or stray blank lines: forward them untouched as an empty event.
                    events.append(SSEEvent(raw: Array(buffer[eventStart..<lineEnd]), name: nil, data: []))
                }
                eventName = nil
                data = []
                hasData = false
                eventStart = lineEnd
            } else {
                processField(lineStart..<index)
            }
            index = lineEnd
            lineStart = lineEnd
        }
        scannedByteCount += index - scanFrom
        // Keep only the unfinished event; fields of its complete lines are already parsed.
        if eventStart > 0 {
            buffer.removeFirst(eventStart)
            lineStart -= eventStart
            index -= eventStart
        }
        scanFrom = index
        if buffer.count > maximumEventBytes {
            overflowed = true
            buffer = []
            data = []
            lineStart = 0
            scanFrom = 0
        }
        return events
    }

    /// The index of the first CR or LF at or after `start`, or `bytes.count`. A tight loop over
    /// the raw buffer: this is where a long line spends its time.
    private static func nextTerminator(in bytes: [UInt8], from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return start }
            var pointer = base + start
            let end = base + buffer.count
            while pointer < end {
                let byte = pointer.pointee
                if byte == 0x0A || byte == 0x0D { break }
                pointer += 1
            }
            return pointer - base
        }
    }

    /// Anything left unterminated when the stream ends (a cut stream), as raw bytes.
    public mutating func finish() -> [UInt8] {
        defer {
            buffer = []
            lineStart = 0
            scanFrom = 0
            eventName = nil
            data = []
            hasData = false
        }
        return buffer
    }

    private mutating func processField(_ line: Range<Int>) {
        let bytes = buffer[line]
        if bytes.first == UInt8(ascii: ":") { return }
        let colon = bytes.firstIndex(of: UInt8(ascii: ":")) ?? line.upperBound
        let field = buffer[line.lowerBound..<colon]
        var valueStart = colon < line.upperBound ? colon + 1 : line.upperBound
        if valueStart < line.upperBound && buffer[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = buffer[valueStart..<line.upperBound]
        if field.elementsEqual("data".utf8) {
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        } else if field.elementsEqual("event".utf8) {
            eventName = String(decoding: value, as: UTF8.self)
        }
    }
}

import GatewayCore

/// Turns a Gemini `streamGenerateContent?alt=sse` body into `CanonicalStreamEvent`s.
/// `SSEStreamDecoder` frames (CR, LF or CRLF line ends) and parses the events;
/// `GeminiStreamEventHandler` reads them.
///
/// Every `data:` event is a whole `GenerateContentResponse` holding only new parts: text becomes
/// text deltas, `thought: true` text thinking deltas, and each `functionCall` (always whole) a
/// `toolCallStart` (id `call_<index>`) plus one arguments delta. `usageMetadata` is a running total
/// (the latest replaces earlier ones). The last `finishReason` seen is reported when the body
/// ends: there is no terminator, and older models put `STOP` on every chunk. A blocked prompt
/// (`promptFeedback.blockReason`) finishes as `contentFilter`.
///
/// `data: {"error":…}`, a malformed event, or a raw JSON error written after the events end the
/// stream with `.error`; so does a body that ends before any `finishReason`.
///
/// A pure per-request state machine: no I/O, no clock.
public typealias GeminiStreamDecoder = SSEStreamDecoder<GeminiStreamEventHandler>

/// The Gemini dialect's event handling in `GeminiStreamDecoder`.
public struct GeminiStreamEventHandler: StreamEventHandler {
    private var started = false
    private var toolCallCount = 0
    private var finishReason: String?
    private var blocked = false
    public private(set) var usage: TokenUsage?

    public init() {}

    /// A last event without its blank line.
    public func lastEventData(in rest: [UInt8]) -> [UInt8]? {
        let tail = Self.trimmed(rest)
        guard tail.starts(with: "data:".utf8) else { return nil }
        var data = Array(tail.dropFirst(5))
        if data.first == UInt8(ascii: " ") { data.removeFirst() }
        return data
    }

    /// There is no terminator: the body ending after a finish reason (or a blocked prompt)
    /// completes the stream, with the last finish reason seen. A raw JSON error written after the
    /// events fails it.
    public mutating func end(rest: [UInt8], into events: inout [CanonicalStreamEvent]) -> StreamEventStep {
        let tail = Self.trimmed(rest)
        if !tail.starts(with: "data:".utf8), let error = GeminiErrorClassifier.errorObject(Array(tail)) {
            return .failed(GeminiErrorClassifier.classify(status: nil, error: error))
        }
        if let reason = finishReason {
            events.append(
                .finish(GeminiResponseDecoder.finishReason(reason, sawToolCall: toolCallCount > 0), stopSequence: nil))
            return .complete
        }
        if blocked {
            events.append(.finish(.contentFilter, stopSequence: nil))
            return .complete
        }
        return .streaming
    }

    private static func trimmed(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return [] }
        return bytes[first...last]
    }

    public mutating func handle(name: String?, _ data: JSONObject, into events: inout [CanonicalStreamEvent])
        -> StreamEventStep
    {
        if let error = data["error"]?.object {
            return .failed(GeminiErrorClassifier.classify(status: nil, error: error))
        }
        if !started {
            started = true
            events.append(
                .messageStart(id: data["responseId"]?.string ?? "", model: data["modelVersion"]?.string ?? ""))
        }
        let candidate = data["candidates"]?[0]?.object
        for part in candidate?["content"]?["parts"]?.array ?? [] {
            guard let part = part.object else { continue }
            if let call = part["functionCall"]?.object {
                let toolCall = GeminiResponseDecoder.toolCall(
                    call, index: toolCallCount, signature: part["thoughtSignature"]?.string)
                events.append(.toolCallStart(index: toolCallCount, id: toolCall.id, name: toolCall.name))
                events.append(.toolCallArgumentsDelta(index: toolCallCount, fragment: toolCall.arguments))
                toolCallCount += 1
            } else if let text = part["text"]?.string {
                if part["thought"]?.bool == true {
                    if !text.isEmpty { events.append(.thinkingDelta(text)) }
                    if let signature = part["thoughtSignature"]?.string, !signature.isEmpty {
                        events.append(.signatureDelta(signature))
                    }
                } else if !text.isEmpty {
                    events.append(.textDelta(text))
                }
            }
        }
        if let reason = candidate?["finishReason"]?.string { finishReason = reason }
        if candidate == nil, data["promptFeedback"]?["blockReason"]?.string != nil { blocked = true }
        if let usage = data["usageMetadata"]?.object {
            let tokens = GeminiUsage(usage).tokenUsage
            self.usage = tokens
            events.append(.usage(tokens))
        }
        return .streaming
    }
}

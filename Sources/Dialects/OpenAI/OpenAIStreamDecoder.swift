import GatewayCore

/// Turns an OpenAI `chat.completion.chunk` SSE stream (OpenAI, Azure and OpenAI-compatible servers)
/// into `CanonicalStreamEvent`s; the inverse of `OpenAIStreamEncoder`. Feed it upstream chunks
/// (split anywhere); it frames them with `SSEFramer`. Only choice 0 is read.
///
/// - `messageStart` comes from the first chunk with a non-empty `id` (Azure's `choices:[]`
///   `prompt_filter_results` preamble has none and adds nothing), or, failing that, just before the
///   first other event.
/// - `delta.reasoning_content` (else `delta.reasoning`) is thinking; `delta.content` (a string, or
///   parts as in `OpenAIChatResponseDecoder`) is text; a `delta.refusal` is text too, and a refusal
///   that then finishes with `stop` finishes as `contentFilter`.
/// - Tool calls are numbered 0, 1, … in order of first appearance. A fragment continues the call
///   with its `index` (or, with no `index`, the latest call), unless it carries an `id` different
///   from that call's: then it starts a new one, as do fragments for an unseen `index`. So split
///   calls, whole calls in one delta, and ids repeated on every fragment all work. A missing id is
///   synthesised as `call_<n>`. The legacy `delta.function_call` is a tool call too.
/// - The first `finish_reason` finishes (`stop` after tool calls reads as `toolCalls`); later ones
///   are ignored. A non-null `usage` (or Groq's `x_groq.usage`) is a `.usage` when it changed.
/// - `data: [DONE]` completes the stream. `data: {"error":…}`, a malformed event, or the body
///   ending before `[DONE]` (see `finish()`) end it with `.error`.
///
/// A pure per-request state machine: no I/O, no clock.
public struct OpenAIStreamDecoder: CanonicalStreamDecoder {
    private enum State: Sendable {
        case streaming
        /// `[DONE]` arrived.
        case complete
        /// An error ended the stream.
        case failed
    }

    /// A started tool call: the provider's `index` (nil when it sent none) and `id` (nil when it
    /// sent none). Its canonical index is its position in `toolCalls`.
    private struct ToolCall: Sendable {
        var openAIIndex: Int?
        var providerID: String?
    }

    private var framer = SSEFramer()
    /// One event passed `SSEFramer.maximumEventBytes`: the stream cannot be read further.
    public var oversizedEvent: Bool { framer.overflowed }
    private var state = State.streaming
    private var started = false
    private var finished = false
    private var sawRefusal = false
    private var toolCalls: [ToolCall] = []
    /// The canonical index of the legacy `function_call` being streamed.
    private var functionCall: Int?
    private var latestUsage: TokenUsage?

    public init() {}

    /// True once `[DONE]` arrived.
    public var isComplete: Bool { if case .complete = state { true } else { false } }
    /// True after an in-stream error, a malformed event, or a cut stream.
    public var isFailed: Bool { if case .failed = state { true } else { false } }
    /// The latest usage seen, if any.
    public var usage: TokenUsage? { latestUsage }

    public mutating func push(_ chunk: [UInt8]) -> [CanonicalStreamEvent] {
        var events: [CanonicalStreamEvent] = []
        for event in framer.push(chunk) {
            guard case .streaming = state else { break }
            guard !event.data.isEmpty else { continue }  // comments (OpenRouter's keep-alives), stray blank lines
            handle(event.data, into: &events)
        }
        return events
    }

    /// The upstream body ended. A last event without its blank line still counts; a stream that
    /// ends before `[DONE]` yields an `.error`.
    public mutating func finish() -> [CanonicalStreamEvent] {
        let rest = framer.finish()
        guard case .streaming = state else { return [] }
        var events: [CanonicalStreamEvent] = []
        // A complete last event; a partial one is just the cut.
        if let data = Self.unterminatedData(rest), data.starts(with: "[DONE]".utf8) || DialectJSON.object(data) != nil {
            handle(data, into: &events)
        }
        guard case .streaming = state else { return events }
        fail(
            CanonicalError(.server, message: "The provider's stream ended before the answer was complete."),
            into: &events)
        return events
    }

    /// The `data:` of an event the body ended inside, or a bare JSON object written after the events.
    private static func unterminatedData(_ rest: [UInt8]) -> [UInt8]? {
        let text = String(decoding: rest, as: UTF8.self)
        var data: [Substring] = []
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("data:") {
            var value = line.dropFirst(5)
            if value.first == " " { value = value.dropFirst() }
            data.append(value)
        }
        if !data.isEmpty { return Array(data.joined(separator: "\n").utf8) }
        let trimmed = text.trimmingPrefix(while: \.isWhitespace)
        return trimmed.hasPrefix("{") ? Array(trimmed.utf8) : nil
    }

    private mutating func fail(_ error: CanonicalError, into events: inout [CanonicalStreamEvent]) {
        state = .failed
        events.append(.error(error))
    }

    private mutating func handle(_ data: [UInt8], into events: inout [CanonicalStreamEvent]) {
        if data.starts(with: "[DONE]".utf8) {
            state = .complete
            return
        }
        guard let chunk = DialectJSON.object(data) else {
            return fail(CanonicalError(.server, message: "The provider sent a malformed stream event."), into: &events)
        }
        if OpenAIChatResponseDecoder.isError(chunk) {
            return fail(OpenAIErrorClassifier.classify(status: nil, root: chunk), into: &events)
        }
        if let id = chunk["id"] as? String, !id.isEmpty { startIfNeeded(chunk, into: &events) }
        var output: [CanonicalStreamEvent] = []
        for choice in chunk["choices"] as? [Any] ?? [] {
            guard let choice = choice as? [String: Any], (DialectJSON.int(choice["index"]) ?? 0) == 0 else { continue }
            if let delta = choice["delta"] as? [String: Any] { self.delta(delta, into: &output) }
            if let reason = choice["finish_reason"] as? String, !finished {
                finished = true
                let stopReason = OpenAIChatResponseDecoder.stopReason(
                    reason, sawToolCall: !toolCalls.isEmpty, sawRefusal: sawRefusal)
                output.append(.finish(stopReason ?? .stop, stopSequence: nil))
            }
        }
        let usage =
            OpenAIChatResponseDecoder.usage(chunk["usage"])
            ?? OpenAIChatResponseDecoder.usage((chunk["x_groq"] as? [String: Any])?["usage"])
        if let usage, usage != latestUsage {
            latestUsage = usage
            output.append(.usage(usage))
        }
        if !output.isEmpty {
            startIfNeeded(chunk, into: &events)
            events += output
        }
    }

    private mutating func startIfNeeded(_ chunk: [String: Any], into events: inout [CanonicalStreamEvent]) {
        guard !started else { return }
        started = true
        events.append(.messageStart(id: chunk["id"] as? String ?? "", model: chunk["model"] as? String ?? ""))
    }

    private mutating func delta(_ delta: [String: Any], into events: inout [CanonicalStreamEvent]) {
        let reasoning = OpenAIChatResponseDecoder.reasoning(delta)
        if !reasoning.isEmpty { events.append(.thinkingDelta(reasoning)) }
        for piece in OpenAIChatResponseDecoder.contentPieces(delta["content"]) {
            switch piece {
            case .text(let text): events.append(.textDelta(text))
            case .thinking(let text): events.append(.thinkingDelta(text))
            }
        }
        if let refusal = delta["refusal"] as? String, !refusal.isEmpty {
            sawRefusal = true
            events.append(.textDelta(refusal))
        }
        for fragment in delta["tool_calls"] as? [Any] ?? [] {
            guard let fragment = fragment as? [String: Any] else { continue }
            toolCallFragment(fragment, into: &events)
        }
        if let call = delta["function_call"] as? [String: Any] { functionCallFragment(call, into: &events) }
    }

    private mutating func toolCallFragment(_ fragment: [String: Any], into events: inout [CanonicalStreamEvent]) {
        let openAIIndex = DialectJSON.int(fragment["index"])
        let id = (fragment["id"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        let function = fragment["function"] as? [String: Any] ?? [:]
        var index =
            if let openAIIndex { toolCalls.lastIndex { $0.openAIIndex == openAIIndex } } else { toolCalls.indices.last }
        if let known = index, let id, let knownID = toolCalls[known].providerID, knownID != id {
            index = nil  // a new call in a reused slot
        }
        let callIndex: Int
        if let index {
            callIndex = index
            if toolCalls[index].providerID == nil, let id { toolCalls[index].providerID = id }
        } else {
            callIndex = toolCalls.count
            toolCalls.append(ToolCall(openAIIndex: openAIIndex, providerID: id))
            events.append(
                .toolCallStart(index: callIndex, id: id ?? "call_\(callIndex)", name: function["name"] as? String ?? "")
            )
        }
        let arguments = OpenAIChatResponseDecoder.arguments(function["arguments"])
        if !arguments.isEmpty { events.append(.toolCallArgumentsDelta(index: callIndex, fragment: arguments)) }
    }

    /// The legacy `function_call`: its `name` arrives on the first fragment, then `arguments` pieces.
    private mutating func functionCallFragment(_ call: [String: Any], into events: inout [CanonicalStreamEvent]) {
        let name = call["name"] as? String ?? ""
        if functionCall == nil || !name.isEmpty {
            let callIndex = toolCalls.count
            toolCalls.append(ToolCall(openAIIndex: nil, providerID: nil))
            functionCall = callIndex
            events.append(.toolCallStart(index: callIndex, id: "call_\(callIndex)", name: name))
        }
        guard let callIndex = functionCall else { return }
        let arguments = OpenAIChatResponseDecoder.arguments(call["arguments"])
        if !arguments.isEmpty { events.append(.toolCallArgumentsDelta(index: callIndex, fragment: arguments)) }
    }
}

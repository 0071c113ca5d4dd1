import GatewayCore

/// Turns an OpenAI `chat.completion.chunk` SSE stream (OpenAI, Azure and OpenAI-compatible servers)
/// into `CanonicalStreamEvent`s; the inverse of `OpenAIStreamEncoder`. `SSEStreamDecoder` frames and
/// parses the events; `OpenAIStreamEventHandler` reads them. Only choice 0 is read.
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
///   ending before `[DONE]` end it with `.error`. A last event the body ends inside (no blank
///   line) still counts when it is whole, as does a bare JSON object written after the events.
///
/// A pure per-request state machine: no I/O, no clock.
public typealias OpenAIStreamDecoder = SSEStreamDecoder<OpenAIStreamEventHandler>

/// The OpenAI dialect's event handling in `OpenAIStreamDecoder`.
public struct OpenAIStreamEventHandler: StreamEventHandler {
    /// A started tool call: the provider's `index` (nil when it sent none) and `id` (nil when it
    /// sent none). Its canonical index is its position in `toolCalls`.
    private struct ToolCall: Sendable {
        var openAIIndex: Int?
        var providerID: String?
    }

    private var started = false
    private var finished = false
    private var sawRefusal = false
    private var toolCalls: [ToolCall] = []
    /// The canonical index of the legacy `function_call` being streamed.
    private var functionCall: Int?
    public private(set) var usage: TokenUsage?

    public init() {}

    public static func isTerminator(_ data: [UInt8]) -> Bool { data.starts(with: "[DONE]".utf8) }

    /// The `data:` of an event the body ended inside, or a bare JSON object written after the
    /// events, when it is whole (`[DONE]` or a JSON object); a partial one is just the cut.
    public func lastEventData(in rest: [UInt8]) -> [UInt8]? {
        let text = String(decoding: rest, as: UTF8.self)
        var lines: [Substring] = []
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("data:") {
            var value = line.dropFirst(5)
            if value.first == " " { value = value.dropFirst() }
            lines.append(value)
        }
        let data: [UInt8]
        if !lines.isEmpty {
            data = Array(lines.joined(separator: "\n").utf8)
        } else {
            let trimmed = text.trimmingPrefix(while: \.isWhitespace)
            guard trimmed.hasPrefix("{") else { return nil }
            data = Array(trimmed.utf8)
        }
        return Self.isTerminator(data) || JSONScanner.parseObject(data) != nil ? data : nil
    }

    public mutating func handle(name: String?, _ chunk: JSONObject, into events: inout [CanonicalStreamEvent])
        -> StreamEventStep
    {
        if OpenAIChatResponseDecoder.isError(chunk) {
            return .failed(OpenAIErrorClassifier.classify(status: nil, root: chunk))
        }
        if let id = chunk["id"]?.string, !id.isEmpty { startIfNeeded(chunk, into: &events) }
        var output: [CanonicalStreamEvent] = []
        for choice in chunk["choices"]?.array ?? [] {
            guard let choice = choice.object, (choice["index"]?.int ?? 0) == 0 else { continue }
            if let delta = choice["delta"]?.object { self.delta(delta, into: &output) }
            if let reason = choice["finish_reason"]?.string, !finished {
                finished = true
                let stopReason = OpenAIChatResponseDecoder.stopReason(
                    reason, sawToolCall: !toolCalls.isEmpty, sawRefusal: sawRefusal)
                output.append(.finish(stopReason ?? .stop, stopSequence: nil))
            }
        }
        let usage =
            OpenAIChatResponseDecoder.usage(chunk["usage"])
            ?? OpenAIChatResponseDecoder.usage(chunk["x_groq"]?["usage"])
        if let usage, usage != self.usage {
            self.usage = usage
            output.append(.usage(usage))
        }
        if !output.isEmpty {
            startIfNeeded(chunk, into: &events)
            events += output
        }
        return .streaming
    }

    private mutating func startIfNeeded(_ chunk: JSONObject, into events: inout [CanonicalStreamEvent]) {
        guard !started else { return }
        started = true
        events.append(.messageStart(id: chunk["id"]?.string ?? "", model: chunk["model"]?.string ?? ""))
    }

    private mutating func delta(_ delta: JSONObject, into events: inout [CanonicalStreamEvent]) {
        let reasoning = OpenAIChatResponseDecoder.reasoning(delta)
        if !reasoning.isEmpty { events.append(.thinkingDelta(reasoning)) }
        for piece in OpenAIChatResponseDecoder.contentPieces(delta["content"]) {
            switch piece {
            case .text(let text): events.append(.textDelta(text))
            case .thinking(let text): events.append(.thinkingDelta(text))
            }
        }
        if let refusal = delta["refusal"]?.string, !refusal.isEmpty {
            sawRefusal = true
            events.append(.textDelta(refusal))
        }
        for fragment in delta["tool_calls"]?.array ?? [] {
            guard let fragment = fragment.object else { continue }
            toolCallFragment(fragment, into: &events)
        }
        if let call = delta["function_call"]?.object { functionCallFragment(call, into: &events) }
    }

    private mutating func toolCallFragment(_ fragment: JSONObject, into events: inout [CanonicalStreamEvent]) {
        let openAIIndex = fragment["index"]?.int
        let id = fragment["id"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        let function = fragment["function"]?.object ?? JSONObject()
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
                .toolCallStart(index: callIndex, id: id ?? "call_\(callIndex)", name: function["name"]?.string ?? "")
            )
        }
        let arguments = OpenAIChatResponseDecoder.arguments(function["arguments"])
        if !arguments.isEmpty { events.append(.toolCallArgumentsDelta(index: callIndex, fragment: arguments)) }
    }

    /// The legacy `function_call`: its `name` arrives on the first fragment, then `arguments` pieces.
    private mutating func functionCallFragment(_ call: JSONObject, into events: inout [CanonicalStreamEvent]) {
        let name = call["name"]?.string ?? ""
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

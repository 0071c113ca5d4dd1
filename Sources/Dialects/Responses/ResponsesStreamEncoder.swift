import GatewayCore

/// Turns `CanonicalStreamEvent`s into the Responses API's semantic SSE stream
/// (docs/wire/openai-responses.md §4, §8): named events (`event: <type>`), each with its
/// `sequence_number`, in the order the official SDK's `responses.stream()` insists on:
///
///     response.created → response.in_progress
///     per item: output_item.added → (content_part.added → output_text.delta* → output_text.done →
///               content_part.done | reasoning_summary_part.added → reasoning_summary_text.delta* → … |
///               function_call_arguments.delta* → function_call_arguments.done) → output_item.done
///     response.completed | response.incomplete      (no [DONE])
///
/// Each message or reasoning item is closed before the next item opens; function calls stay open
/// until the answer finishes or text follows (providers may interleave parallel calls'
/// arguments). The terminal event carries the full object with the same output items the JSON
/// answer would have (`finalResponse`). An error event writes the `error` event nested under
/// `error` (what the SDK raises on) with the flat `code`/`message`/`param` beside it, and ends the
/// stream. A pure per-request state machine.
public struct ResponsesStreamEncoder: CanonicalStreamEncoder {
    private enum OpenKind: Equatable {
        case message
        case reasoning
    }

    private struct Item {
        var item: ResponsesOutputItem
        var open: Bool
        /// A reasoning item's summary part was announced (it had visible text).
        var summaryStarted = false
    }

    private let envelope: ResponsesEnvelope
    private var sequence = 0
    private var items: [Item] = []
    /// The message or reasoning item being written, as an index into `items`.
    private var current: (kind: OpenKind, index: Int)?
    /// Open function calls by the canonical tool-call index.
    private var calls: [Int: Int] = [:]
    private var stopReason: CanonicalStopReason?
    private var finished = false
    private var started = false
    private var usage: TokenUsage?
    public private(set) var isEnded = false
    /// The terminal event's `response` object, once the stream ended normally.
    public private(set) var finalResponse: [UInt8]?

    public init(envelope: ResponsesEnvelope) {
        self.envelope = envelope
    }

    public mutating func encode(_ event: CanonicalStreamEvent) -> [UInt8] {
        guard !isEnded else { preconditionFailure("ResponsesStreamEncoder: event after the end of the stream") }
        var out: [UInt8] = []
        switch event {
        case .messageStart:
            start(&out)
        case .textDelta(let text):
            guard !text.isEmpty, !finished else { break }
            start(&out)
            let index = open(.message, &out)
            append(text, to: index)
            let itemID = items[index].item.id
            emit("response.output_text.delta", &out) { json in
                json.field("item_id", itemID)
                json.field("output_index", index)
                json.field("content_index", 0)
                json.field("delta", text)
                json.key("logprobs")
                json.array { _ in }
            }
        case .thinkingDelta(let text):
            guard !text.isEmpty, !finished else { break }
            start(&out)
            let index = open(.reasoning, &out)
            if !items[index].summaryStarted {
                items[index].summaryStarted = true
                let itemID = items[index].item.id
                emit("response.reasoning_summary_part.added", &out) { json in
                    json.field("item_id", itemID)
                    json.field("output_index", index)
                    json.field("summary_index", 0)
                    json.key("part")
                    ResponsesOutputItem.writeSummaryPart(&json, "")
                }
            }
            append(text, to: index)
            let itemID = items[index].item.id
            emit("response.reasoning_summary_text.delta", &out) { json in
                json.field("item_id", itemID)
                json.field("output_index", index)
                json.field("summary_index", 0)
                json.field("delta", text)
            }
        case .signatureDelta(let signature):
            guard !signature.isEmpty, !finished else { break }
            start(&out)
            let index = current.flatMap { $0.kind == .reasoning ? $0.index : nil } ?? open(.reasoning, &out)
            if case .reasoning(let id, let summary, let existing) = items[index].item {
                items[index].item = .reasoning(id: id, summary: summary, encryptedContent: (existing ?? "") + signature)
            }
        case .redactedThinking(let data):
            guard !finished else { break }
            start(&out)
            closeCurrent(&out)
            let index = add(
                .reasoning(
                    id: envelope.itemID("rs", items.count), summary: "",
                    encryptedContent: ResponsesRequestDecoder.redactedReasoningPrefix + data), &out)
            close(index, &out)
        case .toolCallStart(let toolIndex, let callID, let name):
            guard !finished else { break }
            start(&out)
            closeCurrent(&out)
            calls[toolIndex] = add(
                .functionCall(
                    id: envelope.itemID("fc", items.count), callID: callID, name: name, arguments: "",
                    status: "in_progress"), &out)
        case .toolCallArgumentsDelta(let toolIndex, let fragment):
            guard !fragment.isEmpty, !finished, let index = calls[toolIndex], items[index].open else { break }
            append(fragment, to: index)
            let itemID = items[index].item.id
            emit("response.function_call_arguments.delta", &out) { json in
                json.field("item_id", itemID)
                json.field("output_index", index)
                json.field("delta", fragment)
            }
        case .finish(let reason, _):
            guard !finished else { break }
            start(&out)
            stopReason = reason
            finished = true
            closeAll(&out)
        case .usage(let reported):
            usage = reported
        case .error(let error):
            out += Array("event: error\ndata: ".utf8)
            out += ResponsesErrorEvent.body(
                type: error.openAIType, code: error.openAICode, message: error.message, param: nil,
                sequenceNumber: sequence)
            out += [0x0A, 0x0A]
            sequence += 1
            isEnded = true
        }
        return out
    }

    public mutating func end() -> [UInt8] {
        guard !isEnded else { return [] }
        var out: [UInt8] = []
        start(&out)
        closeAll(&out)
        let status = ResponsesStatus(stopReason)
        var response = JSONWriter(capacity: 1024)
        ResponsesObjectWriter.write(
            &response, envelope: envelope, status: status.status, incompleteReason: status.incompleteReason,
            completed: status.status == "completed", output: items.map(\.item), usage: usage)
        let object = response.bytes
        emit(status.status == "completed" ? "response.completed" : "response.incomplete", &out) { json in
            json.key("response")
            json.raw(object)
        }
        finalResponse = object
        isEnded = true
        return out
    }

    // MARK: - Items

    /// `response.created` and `response.in_progress`, once (the preamble the commit point holds).
    private mutating func start(_ out: inout [UInt8]) {
        guard !started else { return }
        started = true
        var response = JSONWriter(capacity: 1024)
        ResponsesObjectWriter.write(
            &response, envelope: envelope, status: "in_progress", completed: false, output: [], usage: nil)
        let object = response.bytes
        for name in ["response.created", "response.in_progress"] {
            emit(name, &out) { json in
                json.key("response")
                json.raw(object)
            }
        }
    }

    /// The open item of `kind`, opening one (and closing the current other one) if needed.
    private mutating func open(_ kind: OpenKind, _ out: inout [UInt8]) -> Int {
        if let current, current.kind == kind { return current.index }
        closeCurrent(&out)
        if kind == .message { closeCalls(&out) }
        let index: Int
        switch kind {
        case .message:
            index = add(.message(id: envelope.itemID("msg", items.count), text: "", status: "in_progress"), &out)
            let itemID = items[index].item.id
            emit("response.content_part.added", &out) { json in
                json.field("item_id", itemID)
                json.field("output_index", index)
                json.field("content_index", 0)
                json.key("part")
                ResponsesOutputItem.writeTextPart(&json, "")
            }
        case .reasoning:
            index = add(.reasoning(id: envelope.itemID("rs", items.count), summary: "", encryptedContent: nil), &out)
        }
        current = (kind, index)
        return index
    }

    private mutating func add(_ item: ResponsesOutputItem, _ out: inout [UInt8]) -> Int {
        let index = items.count
        items.append(Item(item: item, open: true))
        emit("response.output_item.added", &out) { json in
            json.field("output_index", index)
            json.key("item")
            item.write(&json, added: true)
        }
        return index
    }

    private mutating func append(_ piece: String, to index: Int) {
        switch items[index].item {
        case .message(let id, let text, let status):
            items[index].item = .message(id: id, text: text + piece, status: status)
        case .functionCall(let id, let callID, let name, let arguments, let status):
            items[index].item = .functionCall(
                id: id, callID: callID, name: name, arguments: arguments + piece, status: status)
        case .reasoning(let id, let summary, let encrypted):
            items[index].item = .reasoning(id: id, summary: summary + piece, encryptedContent: encrypted)
        }
    }

    private mutating func closeCurrent(_ out: inout [UInt8]) {
        guard let current else { return }
        self.current = nil
        close(current.index, &out)
    }

    private mutating func closeCalls(_ out: inout [UInt8]) {
        for index in calls.values.sorted() { close(index, &out) }
        calls = [:]
    }

    private mutating func closeAll(_ out: inout [UInt8]) {
        closeCurrent(&out)
        closeCalls(&out)
    }

    /// The `.done` events of one item, then `output_item.done` with the item as final.
    private mutating func close(_ index: Int, _ out: inout [UInt8]) {
        guard items[index].open else { return }
        items[index].open = false
        let itemStatus = finished ? ResponsesStatus(stopReason).itemStatus : "completed"
        let id = items[index].item.id
        switch items[index].item {
        case .message(_, let text, _):
            items[index].item = .message(id: id, text: text, status: itemStatus)
            emit("response.output_text.done", &out) { json in
                json.field("item_id", id)
                json.field("output_index", index)
                json.field("content_index", 0)
                json.field("text", text)
                json.key("logprobs")
                json.array { _ in }
            }
            emit("response.content_part.done", &out) { json in
                json.field("item_id", id)
                json.field("output_index", index)
                json.field("content_index", 0)
                json.key("part")
                ResponsesOutputItem.writeTextPart(&json, text)
            }
        case .functionCall(_, let callID, let name, let arguments, _):
            items[index].item = .functionCall(
                id: id, callID: callID, name: name, arguments: arguments, status: "completed")
            emit("response.function_call_arguments.done", &out) { json in
                json.field("item_id", id)
                json.field("output_index", index)
                json.field("arguments", arguments)
            }
        case .reasoning(_, let summary, _):
            if items[index].summaryStarted {
                emit("response.reasoning_summary_text.done", &out) { json in
                    json.field("item_id", id)
                    json.field("output_index", index)
                    json.field("summary_index", 0)
                    json.field("text", summary)
                }
                emit("response.reasoning_summary_part.done", &out) { json in
                    json.field("item_id", id)
                    json.field("output_index", index)
                    json.field("summary_index", 0)
                    json.key("part")
                    ResponsesOutputItem.writeSummaryPart(&json, summary)
                }
            }
        }
        let item = items[index].item
        emit("response.output_item.done", &out) { json in
            json.field("output_index", index)
            json.key("item")
            item.write(&json)
        }
    }

    /// One event: `event: <type>`, then its JSON with `type` and `sequence_number` first.
    private mutating func emit(_ type: String, _ out: inout [UInt8], _ fields: (inout JSONWriter) -> Void) {
        var json = JSONWriter(capacity: 256)
        json.object { json in
            json.field("type", type)
            json.field("sequence_number", sequence)
            fields(&json)
        }
        sequence += 1
        out += Array("event: \(type)\ndata: ".utf8)
        out += json.bytes
        out += [0x0A, 0x0A]
    }

    /// The next event's `sequence_number` (for an error event written by the gateway itself).
    public var nextSequenceNumber: Int { sequence }
}

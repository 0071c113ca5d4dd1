import Dialects
import GatewayCore

/// The answer guard of a streamed answer, on the SSE events of the client's dialect (so the same
/// code serves passthrough, translated and cached streams). Each text the dialect streams in
/// deltas is a channel (`AnswerTextChannel`) that holds back at most `StreamingTextMasker.holdBack`
/// bytes; what is held when the text ends is sent before the event that ends it:
///
/// - Chat Completions (and legacy completions): a choice's `delta.content`, `reasoning_content`,
///   `refusal`, each tool call's `function.arguments` and a completion's `text`. The chunk with the
///   choice's `finish_reason` carries the rest (the field is added to its delta); at `[DONE]` a
///   text still held gets a chunk of its own.
/// - Messages: the `text_delta` and `input_json_delta` of each content block; the rest goes in a
///   `content_block_delta` sent before the block's `content_block_stop`. Thinking is signed by the
///   provider and is not touched.
/// - Responses: the `delta` of each `*.delta` text event; the rest goes in a delta event before
///   the matching `*.done`, and every later `sequence_number` is moved up by one. Every other
///   event (the `done` events' full texts, `response.completed`) is masked whole, not counted again.
///
/// Events without text pass byte for byte; an event whose text changed is written again, compact.
struct AnswerStreamGuard: Sendable {
    let dialect: ClientDialect
    private var framer = SSEFramer()
    private var channels: [String: AnswerTextChannel] = [:]
    /// Channel keys in the order they opened, for the flushes.
    private var order: [String] = []
    /// Chat Completions: the last chunk's members other than `choices` and `usage`, for a chunk of
    /// our own. Responses: the fields of each channel's delta events, for one of our own.
    private var chunkHead: JSONObject?
    private var deltaTemplates: [String: JSONObject] = [:]
    /// Responses: events added so far, which later `sequence_number`s move up by.
    private var sequenceOffset = 0

    /// Placeholders are restored: the client's events differ from the stored ones.
    let restores: Bool

    init(dialect: ClientDialect, restores: Bool) {
        self.dialect = dialect
        self.restores = restores
    }

    mutating func push(_ bytes: [UInt8], core: inout AnswerGuard.Core) -> AnswerGuard.Output {
        var output = AnswerGuard.Output()
        for event in framer.push(bytes) {
            guard core.refusal == nil else { break }
            handle(event, core: &core, into: &output)
        }
        return output
    }

    mutating func finish(core: inout AnswerGuard.Core) -> AnswerGuard.Output {
        var output = AnswerGuard.Output()
        if core.refusal == nil { flushAll(core: &core, into: &output) }
        return output
    }

    // MARK: - Events

    private mutating func handle(_ event: SSEEvent, core: inout AnswerGuard.Core, into output: inout AnswerGuard.Output)
    {
        guard !event.isDone, case .object(let object)? = try? JSONScanner.parse(event.data) else {
            if event.isDone { flushAll(core: &core, into: &output) }
            output.stored += event.raw
            output.client += event.raw
            return
        }
        switch dialect {
        case .openAI: chatChunk(object, event: event, core: &core, into: &output)
        case .anthropic: messagesEvent(object, event: event, core: &core, into: &output)
        case .responses: responsesEvent(object, event: event, core: &core, into: &output)
        }
    }

    /// Writes an event in its two versions; without placeholders to restore they are the same,
    /// and it is encoded once.
    private func emit(
        _ name: String?, _ stored: JSONObject, _ client: JSONObject, into output: inout AnswerGuard.Output
    ) {
        var bytes: [UInt8] = []
        Self.write(name, stored, into: &bytes)
        output.stored += bytes
        if restores {
            Self.write(name, client, into: &output.client)
        } else {
            output.client += bytes
        }
    }

    private static func write(_ name: String?, _ object: JSONObject, into bytes: inout [UInt8]) {
        if let name { bytes += Array("event: \(name)\n".utf8) }
        bytes += Array("data: ".utf8)
        bytes += JSONValue.object(object).bytes
        bytes += [0x0A, 0x0A]
    }

    private mutating func channel(_ key: String, field: String, isJSON: Bool, core: AnswerGuard.Core)
        -> AnswerTextChannel
    {
        if let known = channels[key] { return known }
        order.append(key)
        let isAnswerText = ["content", "text", "response.output_text.delta"].contains(field)
        return AnswerTextChannel(core: core, field: field, isJSON: isJSON, isAnswerText: isAnswerText)
    }

    private mutating func feed(
        _ key: String, field: String, isJSON: Bool, text: String, finishing: Bool, core: inout AnswerGuard.Core
    ) -> (stored: String, client: String) {
        var channel = channel(key, field: field, isJSON: isJSON, core: core)
        var result = channel.feed(text, core: &core)
        if finishing {
            let rest = channel.finish(core: &core)
            result = (result.stored + rest.stored, result.client + rest.client)
        }
        channels[key] = channel
        return result
    }

    /// Ends the channels whose key starts with `prefix` and are not in `except`; returns what
    /// each still held, by key.
    private mutating func finishChannels(prefix: String, except: Set<String> = [], core: inout AnswerGuard.Core)
        -> [(key: String, channel: AnswerTextChannel, stored: String, client: String)]
    {
        var rests: [(key: String, channel: AnswerTextChannel, stored: String, client: String)] = []
        for key in order where key.hasPrefix(prefix) && !except.contains(key) {
            guard var channel = channels[key] else { continue }
            let rest = channel.finish(core: &core)
            channels[key] = nil
            if !rest.stored.isEmpty || !rest.client.isEmpty { rests.append((key, channel, rest.stored, rest.client)) }
        }
        order.removeAll { $0.hasPrefix(prefix) && channels[$0] == nil }
        return rests
    }

    private mutating func finishChannel(_ key: String, core: inout AnswerGuard.Core)
        -> (key: String, channel: AnswerTextChannel, stored: String, client: String)?
    {
        guard var channel = channels.removeValue(forKey: key) else { return nil }
        order.removeAll { $0 == key }
        let rest = channel.finish(core: &core)
        return rest.stored.isEmpty && rest.client.isEmpty ? nil : (key, channel, rest.stored, rest.client)
    }

    private mutating func flushAll(core: inout AnswerGuard.Core, into output: inout AnswerGuard.Output) {
        let rests = finishChannels(prefix: "", core: &core)
        guard !rests.isEmpty else { return }
        switch dialect {
        case .openAI:
            for rest in rests {
                var (storedChunk, clientChunk) = (chunkHead ?? JSONObject(), chunkHead ?? JSONObject())
                let (stored, client) = Self.chatRestChoice(rest)
                storedChunk.set("choices", .array([.object(stored)]))
                clientChunk.set("choices", .array([.object(client)]))
                emit(nil, storedChunk, clientChunk, into: &output)
            }
        case .anthropic:
            for rest in rests { messagesRest(rest, into: &output) }
        case .responses:
            for rest in rests { responsesRest(rest, sequence: nil, into: &output) }
        }
    }

    // MARK: - Chat Completions

    /// Channel keys: `c<choice>.<field>` and `c<choice>.t<tool index>`.
    private mutating func chatChunk(
        _ object: JSONObject, event: SSEEvent, core: inout AnswerGuard.Core, into output: inout AnswerGuard.Output
    ) {
        guard let choices = object["choices"]?.array, !choices.isEmpty else {
            output.stored += event.raw
            output.client += event.raw
            return
        }
        var head = object
        head.members.removeAll { $0.key == "choices" || $0.key == "usage" }
        chunkHead = head
        var storedChoices: [JSONValue] = []
        var clientChoices: [JSONValue] = []
        var changed = false
        for (position, value) in choices.enumerated() {
            guard case .object(let choice) = value else {
                storedChoices.append(value)
                clientChoices.append(value)
                continue
            }
            let index = choice["index"]?.int ?? position
            let finishing = choice["finish_reason"].map { !$0.isNull } ?? false
            var (stored, client) = (choice, choice)
            var fed: Set<String> = []
            if let text = choice["text"]?.string {
                let key = "c\(index).text"
                let result = feed(key, field: "text", isJSON: false, text: text, finishing: finishing, core: &core)
                stored.set("text", .string(result.stored))
                client.set("text", .string(result.client))
                fed.insert(key)
                changed = true
            }
            if case .object(let delta)? = choice["delta"] {
                var (storedDelta, clientDelta) = (delta, delta)
                for field in ["content", "reasoning_content", "refusal"] {
                    guard let text = delta[field]?.string else { continue }
                    let key = "c\(index).\(field)"
                    let result = feed(key, field: field, isJSON: false, text: text, finishing: finishing, core: &core)
                    storedDelta.set(field, .string(result.stored))
                    clientDelta.set(field, .string(result.client))
                    fed.insert(key)
                    changed = true
                }
                if case .array(let calls)? = delta["tool_calls"] {
                    var (storedCalls, clientCalls) = (calls, calls)
                    for (slot, call) in calls.enumerated() {
                        guard case .object(let callObject) = call, case .object(let function)? = callObject["function"],
                            let arguments = function["arguments"]?.string
                        else { continue }
                        let key = "c\(index).t\(callObject["index"]?.int ?? slot)"
                        let result = feed(
                            key, field: "arguments", isJSON: true, text: arguments, finishing: finishing, core: &core)
                        storedCalls[slot] = Self.settingArguments(callObject, result.stored)
                        clientCalls[slot] = Self.settingArguments(callObject, result.client)
                        fed.insert(key)
                        changed = true
                    }
                    storedDelta.set("tool_calls", .array(storedCalls))
                    clientDelta.set("tool_calls", .array(clientCalls))
                }
                if finishing {
                    // Text this chunk did not carry ends here too: it rides in this delta.
                    for rest in finishChannels(prefix: "c\(index).", except: fed, core: &core) {
                        Self.append(rest.stored, of: rest.key, field: rest.channel.field, to: &storedDelta)
                        Self.append(rest.client, of: rest.key, field: rest.channel.field, to: &clientDelta)
                        changed = true
                    }
                }
                stored.set("delta", .object(storedDelta))
                client.set("delta", .object(clientDelta))
            } else if finishing {
                for rest in finishChannels(prefix: "c\(index).", except: fed, core: &core)
                where rest.channel.field == "text" {
                    stored.set("text", .string((stored["text"]?.string ?? "") + rest.stored))
                    client.set("text", .string((client["text"]?.string ?? "") + rest.client))
                    changed = true
                }
            }
            if finishing { _ = finishChannels(prefix: "c\(index).", core: &core) }
            storedChoices.append(.object(stored))
            clientChoices.append(.object(client))
        }
        guard changed else {
            output.stored += event.raw
            output.client += event.raw
            return
        }
        var (stored, client) = (object, object)
        stored.set("choices", .array(storedChoices))
        client.set("choices", .array(clientChoices))
        emit(event.name, stored, client, into: &output)
    }

    private static func settingArguments(_ call: JSONObject, _ arguments: String) -> JSONValue {
        var call = call
        var function = call["function"]?.object ?? JSONObject()
        function.set("arguments", .string(arguments))
        call.set("function", .object(function))
        return .object(call)
    }

    /// Adds a channel's rest to a delta: to its field, or as a tool call's arguments.
    private static func append(_ text: String, of key: String, field: String, to delta: inout JSONObject) {
        guard field == "arguments" else {
            delta.set(field, .string((delta[field]?.string ?? "") + text))
            return
        }
        let toolIndex = Int(key.split(separator: ".").last?.dropFirst() ?? "") ?? 0
        var calls = delta["tool_calls"]?.array ?? []
        if let slot = calls.firstIndex(where: { $0["index"]?.int == toolIndex }), case .object(let call) = calls[slot] {
            let arguments = call["function"]?["arguments"]?.string ?? ""
            calls[slot] = settingArguments(call, arguments + text)
        } else {
            calls.append(
                .object(
                    JSONObject([
                        .init(key: "index", value: .number(String(toolIndex))),
                        .init(
                            key: "function", value: .object(JSONObject([.init(key: "arguments", value: .string(text))]))
                        ),
                    ])))
        }
        delta.set("tool_calls", .array(calls))
    }

    /// A choice of our own carrying a channel's rest (a stream that ended without `finish_reason`).
    private static func chatRestChoice(
        _ rest: (key: String, channel: AnswerTextChannel, stored: String, client: String)
    )
        -> (JSONObject, JSONObject)
    {
        let index = Int(rest.key.dropFirst().prefix { $0 != "." }) ?? 0
        func choice(_ text: String) -> JSONObject {
            var choice = JSONObject([.init(key: "index", value: .number(String(index)))])
            if rest.channel.field == "text" {
                choice.set("text", .string(text))
            } else {
                var delta = JSONObject()
                append(text, of: rest.key, field: rest.channel.field, to: &delta)
                choice.set("delta", .object(delta))
            }
            choice.set("finish_reason", .null)
            return choice
        }
        return (choice(rest.stored), choice(rest.client))
    }

    // MARK: - Messages

    /// Channel keys: `b<block index>`.
    private mutating func messagesEvent(
        _ object: JSONObject, event: SSEEvent, core: inout AnswerGuard.Core, into output: inout AnswerGuard.Output
    ) {
        let index = object["index"]?.int ?? 0
        switch object["type"]?.string {
        case "content_block_delta":
            guard case .object(let delta)? = object["delta"] else { break }
            let field: String
            switch delta["type"]?.string {
            case "text_delta": field = "text"
            case "input_json_delta": field = "partial_json"
            default: field = ""
            }
            guard !field.isEmpty, let text = delta[field]?.string else { break }
            let result = feed(
                "b\(index)", field: field, isJSON: field == "partial_json", text: text, finishing: false, core: &core)
            var (storedDelta, clientDelta) = (delta, delta)
            storedDelta.set(field, .string(result.stored))
            clientDelta.set(field, .string(result.client))
            var (stored, client) = (object, object)
            stored.set("delta", .object(storedDelta))
            client.set("delta", .object(clientDelta))
            emit(event.name, stored, client, into: &output)
            return
        case "content_block_stop":
            if let rest = finishChannel("b\(index)", core: &core) { messagesRest(rest, into: &output) }
        case "message_delta", "message_stop":
            flushAll(core: &core, into: &output)
        default:
            break
        }
        output.stored += event.raw
        output.client += event.raw
    }

    private func messagesRest(
        _ rest: (key: String, channel: AnswerTextChannel, stored: String, client: String),
        into output: inout AnswerGuard.Output
    ) {
        let index = Int(rest.key.dropFirst()) ?? 0
        let deltaType = rest.channel.field == "partial_json" ? "input_json_delta" : "text_delta"
        func event(_ text: String) -> JSONObject {
            JSONObject([
                .init(key: "type", value: .string("content_block_delta")),
                .init(key: "index", value: .number(String(index))),
                .init(
                    key: "delta",
                    value: .object(
                        JSONObject([
                            .init(key: "type", value: .string(deltaType)),
                            .init(key: rest.channel.field, value: .string(text)),
                        ]))),
            ])
        }
        emit("content_block_delta", event(rest.stored), event(rest.client), into: &output)
    }

    // MARK: - Responses

    /// The text events streamed in deltas, each with the event that ends it.
    static let responsesDeltas: [String: String] = [
        "response.output_text.delta": "response.output_text.done",
        "response.refusal.delta": "response.refusal.done",
        "response.reasoning_summary_text.delta": "response.reasoning_summary_text.done",
        "response.reasoning_text.delta": "response.reasoning_text.done",
        "response.function_call_arguments.delta": "response.function_call_arguments.done",
    ]
    static let responsesDones = Set(responsesDeltas.values)

    /// Channel keys: `<event family>:<item id>:<content or summary index>`.
    private static func responsesKey(_ type: String, _ object: JSONObject) -> String {
        let family = type.hasSuffix(".delta") ? type.dropLast(6) : type.dropLast(5)
        let part = object["content_index"]?.int ?? object["summary_index"]?.int
        return "\(family):\(object["item_id"]?.string ?? ""):\(part.map(String.init) ?? "")"
    }

    private var lastSequence = 0

    private mutating func sequence(of object: JSONObject) -> Int? {
        guard let number = object["sequence_number"]?.int else { return nil }
        lastSequence = number + sequenceOffset
        return lastSequence
    }

    private mutating func responsesEvent(
        _ object: JSONObject, event: SSEEvent, core: inout AnswerGuard.Core, into output: inout AnswerGuard.Output
    ) {
        let type = object["type"]?.string ?? ""
        if Self.responsesDeltas[type] != nil, let text = object["delta"]?.string {
            let key = Self.responsesKey(type, object)
            var template = object
            template.set("delta", .string(""))
            deltaTemplates[key] = template
            let result = feed(
                key, field: type, isJSON: type.contains("arguments"), text: text, finishing: false, core: &core)
            var (stored, client) = (object, object)
            if let number = sequence(of: object) {
                stored.set("sequence_number", .number(String(number)))
                client.set("sequence_number", .number(String(number)))
            }
            stored.set("delta", .string(result.stored))
            client.set("delta", .string(result.client))
            emit(event.name, stored, client, into: &output)
            return
        }
        if Self.responsesDones.contains(type), let rest = finishChannel(Self.responsesKey(type, object), core: &core) {
            responsesRest(rest, sequence: object["sequence_number"]?.int.map { $0 + sequenceOffset }, into: &output)
            if core.refusal != nil { return }
        }
        // Everything else (the full texts of the done events, the final response) masked whole.
        let screened = core.screenJSON(event.data, counting: false)
        guard core.refusal == nil else { return }
        let number = sequence(of: object)
        if screened.stored == event.data && screened.client == event.data && sequenceOffset == 0 {
            output.stored += event.raw
            output.client += event.raw
            return
        }
        Self.writeData(event.name, Self.renumbered(screened.stored, to: number), into: &output.stored)
        Self.writeData(event.name, Self.renumbered(screened.client, to: number), into: &output.client)
    }

    /// A delta event of our own with a channel's rest, numbered `sequence` (the event it goes
    /// before, which moves up by one with every later one), or after the last event.
    private mutating func responsesRest(
        _ rest: (key: String, channel: AnswerTextChannel, stored: String, client: String), sequence: Int?,
        into output: inout AnswerGuard.Output
    ) {
        var event = deltaTemplates[rest.key] ?? JSONObject([.init(key: "type", value: .string(rest.channel.field))])
        let number = sequence ?? (lastSequence + 1)
        event.set("sequence_number", .number(String(number)))
        sequenceOffset += 1
        lastSequence = number
        var client = event
        event.set("delta", .string(rest.stored))
        client.set("delta", .string(rest.client))
        emit(rest.channel.field, event, client, into: &output)
    }

    private static func writeData(_ name: String?, _ data: [UInt8], into bytes: inout [UInt8]) {
        if let name { bytes += Array("event: \(name)\n".utf8) }
        bytes += Array("data: ".utf8)
        bytes += data
        bytes += [0x0A, 0x0A]
    }

    /// `data` with its top-level `sequence_number` set to `number`.
    private static func renumbered(_ data: [UInt8], to number: Int?) -> [UInt8] {
        guard let number, let scan = try? JSONScanner.scanObject(data), let member = scan.member("sequence_number")
        else { return data }
        return JSONTextScanner.rewrite(data, [(member.valueRange, Array(String(number).utf8))])
    }
}

import Foundation
import NIOHTTP1
import Synchronization

/// `POST /v1/responses`: validated as the real API does (docs/wire/openai-responses.md §2, §5), then
/// answered as one `Response` object or as the semantic event stream (§3, §4): `event:` lines,
/// `sequence_number` from 0, `obfuscation` on deltas, no `[DONE]`. The answer is the chat mock's
/// (`OpenAIMockChatAnswer`) for the same conversation. `previous_response_id` must name a response
/// this mock made (else the real 400 `previous_response_not_found`); the mock does not replay
/// the chain into the answer.
extension OpenAIMockResponder {
    func responses(_ request: MockRequest) -> MockResponderResult {
        let body: [String: Any]
        switch jsonObject(request) {
        case .success(let object): body = object
        case .failure(let failure): return .reply(failure.reply)
        }
        guard let rawModel = body["model"] as? String, !rawModel.isEmpty else {
            return .reply(
                error(
                    status: .badRequest, message: "Missing required parameter: 'model'.", param: "model",
                    code: "missing_required_parameter"))
        }
        let messages: [[String: Any]]
        switch Self.chatMessages(body) {
        case .success(let converted): messages = converted
        case .failure(let failure):
            return .reply(
                error(
                    status: .badRequest, message: failure.message, param: failure.param,
                    code: failure.code))
        }
        var functions: [[String: Any]] = []
        for (index, tool) in (body["tools"] as? [[String: Any]] ?? []).enumerated() {
            guard tool["type"] as? String == "function" else { continue }
            guard let name = tool["name"] as? String else {
                return .reply(
                    error(
                        status: .badRequest, message: "Missing required parameter: 'tools[\(index)].name'.",
                        param: "tools[\(index)].name", code: "missing_required_parameter"))
            }
            functions.append(["function": ["name": name, "parameters": tool["parameters"] ?? NSNull()]])
        }
        if let previous = body["previous_response_id"] as? String, !responsesMade.contains(previous) {
            return .reply(
                error(
                    status: .badRequest, message: "Previous response with id '\(previous)' not found.",
                    param: "previous_response_id", code: "previous_response_not_found"))
        }
        if body["background"] as? Bool == true {
            return .reply(
                error(status: .badRequest, message: "The mock does not run background responses.", param: "background"))
        }
        var toolChoice = body["tool_choice"]
        if let choice = toolChoice as? [String: Any], let name = choice["name"] as? String {
            toolChoice = ["type": "function", "function": ["name": name]]
        }
        let (model, faults) = Self.splitModel(rawModel)
        let answer = OpenAIMockChatAnswer(
            messages: messages, tools: functions, toolChoice: toolChoice, maxTokens: body["max_output_tokens"] as? Int)
        let rendered = RenderedResponse(
            id: ids.make(prefix: "resp_", length: 48, alphabet: .hex),
            itemID: ids.make(prefix: answer.text == nil ? "fc_" : "msg_", length: 48, alphabet: .hex),
            callID: ids.make(prefix: "call_", length: 24, alphabet: .alphanumeric),
            created: Int(Date().timeIntervalSince1970), model: model, answer: answer, request: body,
            obfuscation: { self.ids.make(prefix: "", length: 12, alphabet: .alphanumeric) })
        if body["store"] as? Bool != false { responsesMade.insert(rendered.id) }
        let reply: MockReply
        if body["stream"] as? Bool == true {
            var streamed = MockReply(
                status: .ok, headers: headers(contentType: "text/event-stream; charset=utf-8"),
                body: .stream(rendered.events()))
            streamed.streamErrorEvent = { sequence in RenderedResponse.errorEvent(sequence: sequence) }
            reply = streamed
        } else {
            reply = json(rendered.object(status: rendered.status, final: true))
        }
        return .answer(reply, model: model, faultSuffix: faults)
    }

    struct ResponsesInputError: Error {
        var message: String
        var param: String?
        var code: String?
    }

    /// The input items as chat messages for `OpenAIMockChatAnswer`, checked as the real API checks
    /// them: every item an object of a known type, assistant parts `output_text`/`refusal`,
    /// `function_call` with `call_id`, `name` and string `arguments` (an `id` beginning `fc`),
    /// `function_call_output` with `call_id` and `output`.
    static func chatMessages(_ body: [String: Any]) -> Result<[[String: Any]], ResponsesInputError> {
        var messages: [[String: Any]] = []
        if let instructions = body["instructions"] as? String {
            messages.append(["role": "system", "content": instructions])
        }
        if let text = body["input"] as? String {
            messages.append(["role": "user", "content": text])
            return .success(messages)
        }
        guard let items = body["input"] as? [Any] else {
            return .failure(
                ResponsesInputError(
                    message: "Missing required parameter: 'input'.", param: "input", code: "missing_required_parameter")
            )
        }
        for (index, value) in items.enumerated() {
            guard let item = value as? [String: Any] else {
                return .failure(
                    ResponsesInputError(
                        message: "Invalid type for 'input[\(index)]': expected an object.", param: "input[\(index)]",
                        code: "invalid_type"))
            }
            let type = item["type"] as? String ?? (item["role"] != nil ? "message" : "")
            switch type {
            case "message":
                guard let role = item["role"] as? String, ["user", "assistant", "system", "developer"].contains(role)
                else {
                    return .failure(
                        ResponsesInputError(
                            message: "Invalid value for 'input[\(index)].role'.", param: "input[\(index)].role",
                            code: "invalid_value"))
                }
                if role == "assistant", let parts = item["content"] as? [[String: Any]],
                    let bad = parts.firstIndex(where: {
                        !["output_text", "refusal"].contains($0["type"] as? String ?? "")
                    })
                {
                    return .failure(
                        ResponsesInputError(
                            message: "Invalid value: '\(parts[bad]["type"] as? String ?? "")'. Supported values are: "
                                + "'output_text' and 'refusal'.",
                            param: "input[\(index)].content[\(bad)]", code: "invalid_value"))
                }
                messages.append(["role": role, "content": item["content"] ?? ""])
            case "function_call":
                guard item["call_id"] is String, item["name"] is String, item["arguments"] is String else {
                    return .failure(
                        ResponsesInputError(
                            message: "Missing required parameter: 'input[\(index)].call_id'.",
                            param: "input[\(index)].call_id", code: "missing_required_parameter"))
                }
                if let id = item["id"] as? String, !id.hasPrefix("fc") {
                    return .failure(
                        ResponsesInputError(
                            message: "Invalid 'input[\(index)].id': '\(id)'. Expected an ID that begins with 'fc'.",
                            param: "input[\(index)].id", code: "invalid_value"))
                }
                messages.append(["role": "assistant", "content": ""])
            case "function_call_output":
                guard item["call_id"] is String, let output = item["output"] else {
                    return .failure(
                        ResponsesInputError(
                            message: "Missing required parameter: 'input[\(index)].output'.",
                            param: "input[\(index)].output", code: "missing_required_parameter"))
                }
                messages.append(["role": "tool", "content": output])
            case "reasoning":
                guard item["summary"] is [Any] else {
                    return .failure(
                        ResponsesInputError(
                            message: "Missing required parameter: 'input[\(index)].summary'.",
                            param: "input[\(index)].summary", code: "missing_required_parameter"))
                }
            default:
                return .failure(
                    ResponsesInputError(
                        message: "Invalid value: '\(type)'. Supported values are: 'message', 'function_call', "
                            + "'function_call_output' and 'reasoning'.",
                        param: "input[\(index)].type", code: "invalid_value"))
            }
        }
        return .success(messages)
    }
}

/// The ids of responses the mock made with `store` on, for `previous_response_id` (bounded).
final class MockResponseRegistry: Sendable {
    private let ids = Mutex<[String]>([])

    func insert(_ id: String) {
        ids.withLock { ids in
            ids.append(id)
            if ids.count > 4096 { ids.removeFirst(ids.count - 4096) }
        }
    }

    func contains(_ id: String) -> Bool { ids.withLock { $0.contains(id) } }
}

/// One Responses answer rendered as the JSON object and as its event stream, with the same ids.
struct RenderedResponse {
    var id: String
    var itemID: String
    var callID: String
    var created: Int
    var model: String
    var answer: OpenAIMockChatAnswer
    var request: [String: Any]
    var obfuscation: () -> String

    var status: String { answer.finishReason == "length" ? "incomplete" : "completed" }

    var usage: String {
        let total = answer.promptTokens + answer.completionTokens
        return #"{"input_tokens":\#(answer.promptTokens),"input_tokens_details":{"cached_tokens":0},"#
            + #""output_tokens":\#(answer.completionTokens),"output_tokens_details":{"reasoning_tokens":0},"#
            + #""total_tokens":\#(total)}"#
    }

    /// The output item, as announced (`added`) or final.
    func item(added: Bool) -> String {
        let itemStatus = added ? "in_progress" : (status == "completed" ? "completed" : "incomplete")
        switch answer.output {
        case .text(let pieces):
            let content = added ? "" : textPart(pieces.joined())
            return #"{"id":"\#(itemID)","type":"message","status":"\#(itemStatus)","content":[\#(content)],"#
                + #""role":"assistant"}"#
        case .toolCall(let name, let arguments):
            return #"{"id":"\#(itemID)","type":"function_call","status":"\#(added ? "in_progress" : "completed")","#
                + #""arguments":\#(MockJSON.quoted(added ? "" : arguments)),"call_id":"\#(callID)","#
                + #""name":\#(MockJSON.quoted(name))}"#
        }
    }

    func textPart(_ text: String) -> String {
        #"{"type":"output_text","annotations":[],"logprobs":[],"text":\#(MockJSON.quoted(text))}"#
    }

    /// The `Response` object, with the request's configuration echoed as OpenAI does.
    func object(status: String, final: Bool) -> String {
        var out = #"{"id":"\#(id)","object":"response","created_at":\#(created),"status":"\#(status)","#
        out += #""completed_at":"# + (final && status == "completed" ? String(created) : "null") + ","
        out += #""background":false,"error":null,"incomplete_details":"#
        out += final && status == "incomplete" ? #"{"reason":"max_output_tokens"}"# : "null"
        out += #","instructions":"# + Self.json(request["instructions"])
        out += #","max_output_tokens":"# + Self.json(request["max_output_tokens"])
        out += #","max_tool_calls":null,"model":"# + MockJSON.quoted(model)
        out += #","output":["# + (final ? item(added: false) : "") + "]"
        out += #","parallel_tool_calls":"# + Self.json(request["parallel_tool_calls"] ?? true)
        out += #","previous_response_id":"# + Self.json(request["previous_response_id"])
        out += #","prompt_cache_key":null,"reasoning":{"effort":null,"summary":null},"safety_identifier":null"#
        out += #","service_tier":"\#(final ? "default" : "auto")","store":"# + Self.json(request["store"] ?? true)
        out += #","temperature":"# + Self.json(request["temperature"] ?? 1.0)
        out += #","text":{"format":"# + Self.json((request["text"] as? [String: Any])?["format"] ?? ["type": "text"])
        out += #","verbosity":"medium"},"tool_choice":"# + Self.json(request["tool_choice"] ?? "auto")
        out += #","tools":["# + tools() + "]"
        out += #","top_logprobs":0,"top_p":"# + Self.json(request["top_p"] ?? 1.0)
        out += #","truncation":"disabled","usage":"# + (final ? usage : "null")
        out += #","user":null,"metadata":"# + Self.json(request["metadata"] ?? [String: Any]()) + "}"
        return out
    }

    private func tools() -> String {
        (request["tools"] as? [[String: Any]] ?? []).map { tool in
            #"{"type":"function","description":"# + Self.json(tool["description"]) + #","name":"#
                + Self.json(tool["name"]) + #","parameters":"# + Self.json(tool["parameters"]) + #","strict":"#
                + Self.json(tool["strict"] ?? true) + "}"
        }.joined(separator: ",")
    }

    /// The semantic events, numbered from 0 (§4's captured order).
    func events() -> [String] {
        var events: [String] = []
        func event(_ type: String, _ fields: String) {
            events.append(
                "event: \(type)\ndata: {\"type\":\"\(type)\",\"sequence_number\":\(events.count)\(fields)}\n\n")
        }
        let inProgress = object(status: "in_progress", final: false)
        event("response.created", #","response":"# + inProgress)
        event("response.in_progress", #","response":"# + inProgress)
        event("response.output_item.added", #","output_index":0,"item":"# + item(added: true))
        let at = #","item_id":"\#(itemID)","output_index":0"#
        switch answer.output {
        case .text(let pieces):
            event("response.content_part.added", at + #","content_index":0,"part":"# + textPart(""))
            for piece in pieces {
                event(
                    "response.output_text.delta",
                    at + #","content_index":0,"delta":"# + MockJSON.quoted(piece)
                        + #","logprobs":[],"obfuscation":"\#(obfuscation())""#)
            }
            let text = pieces.joined()
            event(
                "response.output_text.done",
                at + #","content_index":0,"text":"# + MockJSON.quoted(text) + #","logprobs":[]"#)
            event("response.content_part.done", at + #","content_index":0,"part":"# + textPart(text))
        case .toolCall(_, let arguments):
            for slice in MockTokens.slices(arguments, count: 3) {
                event(
                    "response.function_call_arguments.delta",
                    at + #","delta":"# + MockJSON.quoted(slice) + #","obfuscation":"\#(obfuscation())""#)
            }
            event("response.function_call_arguments.done", at + #","arguments":"# + MockJSON.quoted(arguments))
        }
        event("response.output_item.done", #","output_index":0,"item":"# + item(added: false))
        event(
            status == "completed" ? "response.completed" : "response.incomplete",
            #","response":"# + object(status: status, final: true))
        return events
    }

    /// The nested `error` event OpenAI sends mid-stream (§4).
    static func errorEvent(sequence: Int) -> String {
        "event: error\ndata: {\"type\":\"error\",\"sequence_number\":\(sequence),\"error\":{\"type\":\"server_error\","
            + "\"code\":\"server_error\",\"message\":\"The server had an error processing your request. Sorry about "
            + "that!\",\"param\":null}}\n\n"
    }

    /// A request value back as compact JSON (`null` when absent).
    static func json(_ value: Any?) -> String {
        guard let value, !(value is NSNull) else { return "null" }
        if let text = value as? String { return MockJSON.quoted(text) }
        guard JSONSerialization.isValidJSONObject([value]),
            let data = try? JSONSerialization.data(
                withJSONObject: [value], options: [.sortedKeys, .withoutEscapingSlashes]),
            let text = String(data: data, encoding: .utf8)
        else { return "null" }
        return String(text.dropFirst().dropLast())
    }
}

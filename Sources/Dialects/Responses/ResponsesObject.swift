import GatewayCore

/// What a Responses answer says about its own request: the id the gateway gave it, when it was
/// made, the model, and the request's configuration, which every `Response` object echoes
/// (`instructions`, `tools`, `tool_choice`, `temperature`, …). Shared by the JSON answer and the
/// stream's `response.*` events, so a streamed answer ends with the same object a plain one is.
public struct ResponsesEnvelope: Sendable {
    public let id: String
    public let createdAt: Int
    public let model: String
    /// The request body as parsed (an empty object when it was not one).
    let request: JSONObject
    /// Unix seconds now, for `completed_at`.
    let now: @Sendable () -> Int

    public init(id: String, createdAt: Int, model: String, requestBody: [UInt8], now: (@Sendable () -> Int)? = nil) {
        self.id = id
        self.createdAt = createdAt
        self.model = model
        self.request = JSONScanner.parseObject(requestBody) ?? JSONObject()
        self.now = now ?? { createdAt }
    }

    /// `resp_…` without its prefix: item ids are made from it (`msg_…_0`).
    var idStem: String { id.hasPrefix("resp_") ? String(id.dropFirst(5)) : id }

    func itemID(_ prefix: String, _ index: Int) -> String { "\(prefix)_\(idStem)_\(index)" }
}

/// One output item of a translated answer, as the Responses API writes it.
public enum ResponsesOutputItem: Sendable, Equatable {
    case message(id: String, text: String, status: String)
    case functionCall(id: String, callID: String, name: String, arguments: String, status: String)
    /// Visible reasoning as a summary; `encryptedContent` carries the provider's signature (or
    /// its redacted reasoning, prefixed) so the next turn can send it back.
    case reasoning(id: String, summary: String, encryptedContent: String?)

    public var id: String {
        switch self {
        case .message(let id, _, _), .functionCall(let id, _, _, _, _), .reasoning(let id, _, _): id
        }
    }

    /// The item as in `output` (`done`) or as first announced (`added`: empty text, arguments and
    /// summary, `status: in_progress`).
    func write(_ json: inout JSONWriter, added: Bool = false) {
        json.object { json in
            switch self {
            case .message(let id, let text, let status):
                json.field("id", id)
                json.field("type", "message")
                json.field("status", added ? "in_progress" : status)
                json.key("content")
                json.array { json in
                    if !added { Self.writeTextPart(&json, text) }
                }
                json.field("role", "assistant")
            case .functionCall(let id, let callID, let name, let arguments, let status):
                json.field("id", id)
                json.field("type", "function_call")
                json.field("status", added ? "in_progress" : status)
                json.field("arguments", added ? "" : arguments)
                json.field("call_id", callID)
                json.field("name", name)
            case .reasoning(let id, let summary, let encryptedContent):
                json.field("id", id)
                json.field("type", "reasoning")
                json.key("summary")
                json.array { json in
                    if !added && !summary.isEmpty { Self.writeSummaryPart(&json, summary) }
                }
                if !added, let encryptedContent { json.field("encrypted_content", encryptedContent) }
            }
        }
    }

    static func writeTextPart(_ json: inout JSONWriter, _ text: String) {
        json.object { json in
            json.field("type", "output_text")
            json.key("annotations")
            json.array { _ in }
            json.key("logprobs")
            json.array { _ in }
            json.field("text", text)
        }
    }

    static func writeSummaryPart(_ json: inout JSONWriter, _ text: String) {
        json.object { json in
            json.field("type", "summary_text")
            json.field("text", text)
        }
    }

    /// The items of a complete answer: each run of text is one message, each tool call one
    /// `function_call`, each thinking block one `reasoning` item, in the model's order.
    static func items(of response: CanonicalResponse, envelope: ResponsesEnvelope, status: String) -> [Self] {
        var items: [Self] = []
        var text: String?
        func flushText() {
            if let pending = text {
                items.append(.message(id: envelope.itemID("msg", items.count), text: pending, status: status))
                text = nil
            }
        }
        for part in response.content {
            switch part {
            case .text(let piece):
                text = (text ?? "") + piece
            case .toolCall(let call):
                flushText()
                items.append(
                    .functionCall(
                        id: envelope.itemID("fc", items.count), callID: call.id, name: call.name,
                        arguments: call.arguments, status: "completed"))
            case .thinking(let thinking, let signature):
                flushText()
                items.append(
                    .reasoning(id: envelope.itemID("rs", items.count), summary: thinking, encryptedContent: signature))
            case .redactedThinking(let data):
                flushText()
                items.append(
                    .reasoning(
                        id: envelope.itemID("rs", items.count), summary: "",
                        encryptedContent: ResponsesRequestDecoder.redactedReasoningPrefix + data))
            case .image, .toolResult:
                continue
            }
        }
        flushText()
        return items
    }
}

/// How a translated answer ended, in Responses terms.
struct ResponsesStatus: Equatable {
    var status: String
    /// `incomplete_details.reason`.
    var incompleteReason: String?

    init(_ stopReason: CanonicalStopReason?) {
        switch stopReason {
        case .length: self.init(status: "incomplete", incompleteReason: "max_output_tokens")
        case .contentFilter: self.init(status: "incomplete", incompleteReason: "content_filter")
        case .stop, .toolCalls, .pauseTurn, nil: self.init(status: "completed", incompleteReason: nil)
        }
    }

    init(status: String, incompleteReason: String?) {
        self.status = status
        self.incompleteReason = incompleteReason
    }

    /// What an unfinished message item says.
    var itemStatus: String { status == "completed" ? "completed" : "incomplete" }
}

/// Writes the `Response` object: every field the Open Responses `ResponseResource` schema requires
/// is present (null where it has no value), the request's configuration echoed.
enum ResponsesObjectWriter {
    static func write(
        _ json: inout JSONWriter,
        envelope: ResponsesEnvelope,
        status: String,
        incompleteReason: String? = nil,
        completed: Bool,
        output: [ResponsesOutputItem],
        usage: TokenUsage?
    ) {
        let request = envelope.request
        json.object { json in
            json.field("id", envelope.id)
            json.field("object", "response")
            json.field("created_at", envelope.createdAt)
            json.field("status", status)
            json.field("completed_at", completed ? max(envelope.createdAt, envelope.now()) : nil)
            json.field("background", false)
            json.key("error")
            json.null()
            json.key("incomplete_details")
            if let incompleteReason {
                json.object { $0.field("reason", incompleteReason) }
            } else {
                json.null()
            }
            json.field("instructions", request["instructions"]?.string)
            json.field("max_output_tokens", request["max_output_tokens"]?.int)
            json.field("max_tool_calls", request["max_tool_calls"]?.int)
            json.field("model", envelope.model)
            json.key("output")
            json.array { json in
                for item in output { item.write(&json) }
            }
            json.field("parallel_tool_calls", request["parallel_tool_calls"]?.bool ?? true)
            json.field("previous_response_id", request["previous_response_id"]?.string)
            json.field("prompt_cache_key", request["prompt_cache_key"]?.string)
            json.key("reasoning")
            if let reasoning = request["reasoning"]?.object {
                json.object { json in
                    json.field("effort", reasoning["effort"]?.string)
                    json.field("summary", reasoning["summary"]?.string)
                }
            } else {
                json.null()
            }
            json.field("safety_identifier", request["safety_identifier"]?.string)
            json.field("service_tier", request["service_tier"]?.string ?? "default")
            json.field("store", request["store"]?.bool ?? true)
            json.field("temperature", request["temperature"]?.double ?? 1)
            json.field("presence_penalty", 0.0)
            json.field("frequency_penalty", 0.0)
            json.key("text")
            writeText(&json, request["text"]?.object)
            json.key("tool_choice")
            json.value(request["tool_choice"].flatMap { $0.isNull ? nil : $0 } ?? .string("auto"))
            json.key("tools")
            json.array { json in
                for tool in request["tools"]?.array ?? [] { writeTool(&json, tool) }
            }
            json.field("top_logprobs", request["top_logprobs"]?.int ?? 0)
            json.field("top_p", request["top_p"]?.double ?? 1)
            json.field("truncation", request["truncation"]?.string ?? "disabled")
            json.key("usage")
            if let usage { writeUsage(&json, usage) } else { json.null() }
            json.field("user", request["user"]?.string)
            json.key("metadata")
            json.value(request["metadata"]?.object.map(JSONValue.object) ?? .object(JSONObject()))
        }
    }

    /// `text` as requested (`format` defaulting to plain text).
    private static func writeText(_ json: inout JSONWriter, _ text: JSONObject?) {
        json.object { json in
            json.key("format")
            json.value(
                text?["format"].flatMap { $0.isNull ? nil : $0 }
                    ?? .object(JSONObject([.init(key: "type", value: .string("text"))])))
            if let verbosity = text?["verbosity"]?.string { json.field("verbosity", verbosity) }
        }
    }

    /// A function tool with every field present (`description`, `parameters` and `strict` may be
    /// null).
    private static func writeTool(_ json: inout JSONWriter, _ tool: JSONValue) {
        json.object { json in
            json.field("type", tool["type"]?.string ?? "function")
            json.field("name", tool["name"]?.string)
            json.field("description", tool["description"]?.string)
            json.key("parameters")
            json.value(tool["parameters"] ?? .null)
            json.key("strict")
            if let strict = tool["strict"]?.bool { json.bool(strict) } else { json.null() }
        }
    }

    /// Responses usage: cached tokens inside `input_tokens`, reasoning inside `output_tokens`.
    static func writeUsage(_ json: inout JSONWriter, _ usage: TokenUsage) {
        json.object { json in
            json.field("input_tokens", usage.promptTokens)
            json.key("input_tokens_details")
            json.object { json in
                json.field("cached_tokens", usage.cachedPromptTokens)
                json.field("cache_write_tokens", usage.cacheCreationPromptTokens)
            }
            json.field("output_tokens", usage.completionTokens)
            json.key("output_tokens_details")
            json.object { $0.field("reasoning_tokens", usage.reasoningTokens) }
            json.field("total_tokens", usage.totalTokens)
        }
    }
}

/// The complete (non-stream) answer of a translated Responses request.
public enum ResponsesResponseEncoder {
    public static func encode(_ response: CanonicalResponse, envelope: ResponsesEnvelope) -> [UInt8] {
        let status = ResponsesStatus(response.stopReason)
        var json = JSONWriter(capacity: 1024)
        ResponsesObjectWriter.write(
            &json, envelope: envelope, status: status.status, incompleteReason: status.incompleteReason,
            completed: status.status == "completed",
            output: ResponsesOutputItem.items(of: response, envelope: envelope, status: status.itemStatus),
            usage: response.usage)
        return json.bytes
    }
}

extension TokenUsage {
    /// Reads a Responses `usage` object (`input_tokens`, `output_tokens`,
    /// `input_tokens_details.cached_tokens`, `output_tokens_details.reasoning_tokens`); nil when it
    /// has no integer `input_tokens`.
    public static func responses(_ usage: JSONValue) -> TokenUsage? {
        guard let input = usage["input_tokens"]?.int else { return nil }
        return TokenUsage(
            promptTokens: input,
            completionTokens: usage["output_tokens"]?.int ?? 0,
            cachedPromptTokens: usage["input_tokens_details"]?["cached_tokens"]?.int ?? 0,
            reasoningTokens: usage["output_tokens_details"]?["reasoning_tokens"]?.int ?? 0,
            cacheCreationPromptTokens: usage["input_tokens_details"]?["cache_write_tokens"]?.int ?? 0
        )
    }
}

import Foundation
import NIOHTTP1

/// `POST /v1/chat/completions`: validation as the real API does it, then the answer rendered as one
/// `chat.completion` object or as `chat.completion.chunk` events (docs/wire/openai.md).
extension OpenAIMockResponder {
    func chatCompletion(_ request: MockRequest) -> MockResponderResult {
        let body: [String: Any]
        switch jsonObject(request) {
        case .success(let object): body = object
        case .failure(let failure): return .reply(failure.reply)
        }
        guard let rawModel = body["model"] as? String, !rawModel.isEmpty else {
            return .reply(error(status: .badRequest, message: "you must provide a model parameter"))
        }
        guard let messagesValue = body["messages"], !(messagesValue is NSNull) else {
            return .reply(missing("messages"))
        }
        guard let messages = messagesValue as? [[String: Any]] else {
            return .reply(
                error(
                    status: .badRequest, message: "Invalid type for 'messages': expected an array of objects.",
                    param: "messages", code: "invalid_type"
                )
            )
        }
        guard !messages.isEmpty else {
            return .reply(
                error(
                    status: .badRequest,
                    message: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
                        + "empty array instead.", param: "messages", code: "empty_array"
                )
            )
        }
        if let index = messages.firstIndex(where: { !($0["role"] is String) }) {
            return .reply(missing("messages[\(index)].role"))
        }
        let stream = body["stream"] as? Bool ?? false
        let streamOptions = body["stream_options"].flatMap { $0 is NSNull ? nil : $0 }
        if streamOptions != nil, !stream {
            return .reply(
                error(
                    status: .badRequest,
                    message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                    param: "stream_options"
                )
            )
        }
        let (model, faults) = Self.splitModel(rawModel)
        var answer = OpenAIMockChatAnswer(
            messages: messages,
            tools: body["tools"] as? [[String: Any]] ?? [],
            toolChoice: body["tool_choice"],
            maxTokens: (body["max_completion_tokens"] ?? body["max_tokens"]) as? Int
        )
        if model == Self.guardModel {
            // A Llama Guard style classifier: the verdict on the conversation (+Moderations).
            let verdict = Self.guardVerdict(messages)
            answer.output = .text(pieces: [verdict])
            answer.finishReason = "stop"
            answer.completionTokens = MockTokens.count(verdict)
        }
        let completion = RenderedCompletion(
            id: ids.make(prefix: "chatcmpl-", length: 29, alphabet: .alphanumeric),
            created: Int(Date().timeIntervalSince1970),
            model: model,
            answer: answer,
            toolCallID: ids.make(prefix: "call_", length: 24, alphabet: .alphanumeric)
        )
        let reply: MockReply
        if stream {
            let includeUsage = (streamOptions as? [String: Any])?["include_usage"] as? Bool ?? false
            reply = MockReply(
                status: .ok,
                headers: headers(contentType: "text/event-stream; charset=utf-8"),
                body: .stream(completion.events(includeUsage: includeUsage))
            )
        } else {
            reply = json(completion.object())
        }
        return .answer(reply, model: model, faultSuffix: faults)
    }

    private func missing(_ parameter: String) -> MockReply {
        error(
            status: .badRequest, message: "Missing required parameter: '\(parameter)'.", param: parameter,
            code: "missing_required_parameter"
        )
    }
}

/// One answer rendered in both shapes with the same id, `created`, model and usage.
struct RenderedCompletion {
    var id: String
    var created: Int
    var model: String
    var answer: OpenAIMockChatAnswer
    var toolCallID: String

    var usage: String {
        let total = answer.promptTokens + answer.completionTokens
        return #"{"prompt_tokens":\#(answer.promptTokens),"completion_tokens":\#(answer.completionTokens),"#
            + #""total_tokens":\#(total),"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"#
            + #""completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"#
            + #""accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#
    }

    /// The non-stream `chat.completion` object.
    func object() -> String {
        var out = #"{"id":"\#(id)","object":"chat.completion","created":\#(created),"model":"#
        MockJSON.appendQuoted(model, to: &out)
        out += #","choices":[{"index":0,"message":{"role":"assistant","content":"#
        switch answer.output {
        case .text(let pieces):
            MockJSON.appendQuoted(pieces.joined(), to: &out)
            out += #","refusal":null,"annotations":[]}"#
        case .toolCall(let name, let arguments):
            out += #"null,"refusal":null,"annotations":[],"tool_calls":[{"id":"\#(toolCallID)","type":"function","#
            out += #""function":{"name":"# + MockJSON.quoted(name) + #","arguments":"#
            MockJSON.appendQuoted(arguments, to: &out)
            out += "}}]}"
        }
        out += #","logprobs":null,"finish_reason":"\#(answer.finishReason)"}],"usage":"# + usage
        out += #","service_tier":"default","system_fingerprint":"\#(OpenAIMockResponder.systemFingerprint)"}"#
        return out
    }

    /// The `data: …\n\n` events: role chunk, content or tool-call fragments, finish chunk, the usage chunk
    /// when asked for, and `data: [DONE]`.
    func events(includeUsage: Bool) -> [String] {
        var prefix = #"data: {"id":"\#(id)","object":"chat.completion.chunk","created":\#(created),"model":"#
        MockJSON.appendQuoted(model, to: &prefix)
        prefix += #","service_tier":"default","system_fingerprint":"\#(OpenAIMockResponder.systemFingerprint)","#
        prefix += #""choices":["#
        let suffix = includeUsage ? "],\"usage\":null}\n\n" : "]}\n\n"
        func chunk(delta: String, finishReason: String = "null") -> String {
            prefix + #"{"index":0,"delta":"# + delta + #","logprobs":null,"finish_reason":"# + finishReason + "}"
                + suffix
        }

        var events: [String] = []
        switch answer.output {
        case .text(let pieces):
            events.reserveCapacity(pieces.count + 4)
            events.append(chunk(delta: #"{"role":"assistant","content":"","refusal":null}"#))
            for piece in pieces { events.append(chunk(delta: #"{"content":"# + MockJSON.quoted(piece) + "}")) }
        case .toolCall(let name, let arguments):
            events.append(
                chunk(
                    delta: #"{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"\#(toolCallID)","#
                        + #""type":"function","function":{"name":"# + MockJSON.quoted(name)
                        + #","arguments":""}}],"refusal":null}"#
                )
            )
            for slice in MockTokens.slices(arguments, count: 3) {
                events.append(
                    chunk(
                        delta: #"{"tool_calls":[{"index":0,"function":{"arguments":"# + MockJSON.quoted(slice) + "}}]}")
                )
            }
        }
        events.append(chunk(delta: "{}", finishReason: "\"\(answer.finishReason)\""))
        if includeUsage {
            var usageChunk = prefix
            usageChunk += #"],"usage":"# + usage + "}\n\n"
            events.append(usageChunk)
        }
        events.append("data: [DONE]\n\n")
        return events
    }
}

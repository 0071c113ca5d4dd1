import Foundation
import NIOHTTP1

/// `POST /v1/completions`, OpenAI's legacy text completions (still what vLLM and llama.cpp users
/// send): `prompt` a string or an array, answered as one `text_completion` object or as
/// `text_completion` chunks (`choices[].text`), the usage chunk when `stream_options.include_usage`
/// asks for it, and `data: [DONE]`. The text is the chat mock's answer to the prompt as one user
/// message.
extension OpenAIMockResponder {
    func completion(_ request: MockRequest) -> MockResponderResult {
        let body: [String: Any]
        switch jsonObject(request) {
        case .success(let object): body = object
        case .failure(let failure): return .reply(failure.reply)
        }
        guard let rawModel = body["model"] as? String, !rawModel.isEmpty else {
            return .reply(error(status: .badRequest, message: "you must provide a model parameter"))
        }
        let prompt: String
        switch body["prompt"] {
        case let text as String: prompt = text
        case let parts as [String]: prompt = parts.joined(separator: " ")
        case nil, is NSNull:
            return .reply(
                error(
                    status: .badRequest, message: "Missing required parameter: 'prompt'.", param: "prompt",
                    code: "missing_required_parameter"))
        default:
            return .reply(
                error(
                    status: .badRequest,
                    message: "Invalid type for 'prompt': expected a string or an array of strings.",
                    param: "prompt", code: "invalid_type"))
        }
        let stream = body["stream"] as? Bool ?? false
        let streamOptions = body["stream_options"].flatMap { $0 is NSNull ? nil : $0 }
        if streamOptions != nil, !stream {
            return .reply(
                error(
                    status: .badRequest,
                    message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                    param: "stream_options"))
        }
        let (model, faults) = Self.splitModel(rawModel)
        let answer = OpenAIMockChatAnswer(
            messages: [["role": "user", "content": prompt]], tools: [], toolChoice: nil,
            maxTokens: body["max_tokens"] as? Int ?? 16)
        let rendered = RenderedTextCompletion(
            id: ids.make(prefix: "cmpl-", length: 29, alphabet: .alphanumeric),
            created: Int(Date().timeIntervalSince1970), model: model, answer: answer)
        let reply: MockReply
        if stream {
            let includeUsage = (streamOptions as? [String: Any])?["include_usage"] as? Bool ?? false
            reply = MockReply(
                status: .ok, headers: headers(contentType: "text/event-stream; charset=utf-8"),
                body: .stream(rendered.events(includeUsage: includeUsage)))
        } else {
            reply = json(rendered.object())
        }
        return .answer(reply, model: model, faultSuffix: faults)
    }
}

/// One text completion in both shapes, with the same id, `created` and usage.
struct RenderedTextCompletion {
    var id: String
    var created: Int
    var model: String
    var answer: OpenAIMockChatAnswer

    private var pieces: [String] {
        if case .text(let pieces) = answer.output { return pieces }
        return []
    }

    var usage: String {
        #"{"prompt_tokens":\#(answer.promptTokens),"completion_tokens":\#(answer.completionTokens),"#
            + #""total_tokens":\#(answer.promptTokens + answer.completionTokens)}"#
    }

    private var head: String {
        #"{"id":"\#(id)","object":"text_completion","created":\#(created),"model":\#(MockJSON.quoted(model)),"#
            + #""system_fingerprint":"\#(OpenAIMockResponder.systemFingerprint)","#
    }

    func object() -> String {
        head + #""choices":[{"text":\#(MockJSON.quoted(pieces.joined())),"index":0,"logprobs":null,"#
            + #""finish_reason":"\#(answer.finishReason)"}],"usage":\#(usage)}"#
    }

    func events(includeUsage: Bool) -> [String] {
        let tail = includeUsage ? #","usage":null}"# : "}"
        var events = pieces.map { piece in
            "data: " + head + #""choices":[{"text":\#(MockJSON.quoted(piece)),"index":0,"logprobs":null,"#
                + #""finish_reason":null}]"# + tail + "\n\n"
        }
        events.append(
            "data: " + head + #""choices":[{"text":"","index":0,"logprobs":null,"#
                + #""finish_reason":"\#(answer.finishReason)"}]"# + tail + "\n\n")
        if includeUsage { events.append("data: " + head + #""choices":[],"usage":\#(usage)}"# + "\n\n") }
        events.append("data: [DONE]\n\n")
        return events
    }
}

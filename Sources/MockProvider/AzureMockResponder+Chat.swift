import Foundation
import NIOHTTP1

/// Chat completions: OpenAI's validation (the body's `model` is required on the v1 path only), the prompt
/// content filter (`BLOCKME` → 400 `content_filter`), the output filter (`UNSAFE` → `finish_reason`
/// `content_filter`), and the answer rendered with Azure's annotations.
extension AzureMockResponder {
    func chat(_ request: MockRequest, deployment: String?) -> MockResponderResult {
        let data = Data(request.body.readableBytesView)
        guard let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return .reply(
                openAIError(status: .badRequest, message: "We could not parse the JSON body of your request.")
            )
        }
        let rawModel = deployment ?? (body["model"] as? String ?? "")
        guard !rawModel.isEmpty else {
            return .reply(openAIError(status: .badRequest, message: "you must provide a model parameter"))
        }
        guard let messages = body["messages"] as? [[String: Any]] else {
            return .reply(
                openAIError(
                    status: .badRequest, message: "Missing required parameter: 'messages'.", param: "messages",
                    code: "missing_required_parameter"
                )
            )
        }
        guard !messages.isEmpty else {
            return .reply(
                openAIError(
                    status: .badRequest,
                    message: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an "
                        + "empty array instead.", param: "messages", code: "empty_array"
                )
            )
        }
        if let index = messages.firstIndex(where: { !($0["role"] is String) }) {
            return .reply(
                openAIError(
                    status: .badRequest, message: "Missing required parameter: 'messages[\(index)].role'.",
                    param: "messages[\(index)].role", code: "missing_required_parameter"
                )
            )
        }
        let stream = body["stream"] as? Bool ?? false
        let streamOptions = body["stream_options"] as? [String: Any]
        if streamOptions != nil, !stream {
            return .reply(
                openAIError(
                    status: .badRequest,
                    message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                    param: "stream_options"
                )
            )
        }
        let prompt = messages.map { OpenAIMockChatAnswer.text(of: $0["content"]) }.joined(separator: " ")
        if prompt.contains("BLOCKME") { return .reply(contentFilterError()) }
        let (model, faults) = OpenAIMockResponder.splitModel(rawModel)
        var answer = OpenAIMockChatAnswer(
            messages: messages, tools: body["tools"] as? [[String: Any]] ?? [], toolChoice: body["tool_choice"],
            maxTokens: (body["max_completion_tokens"] ?? body["max_tokens"]) as? Int
        )
        var outputFiltered = false
        if prompt.contains("UNSAFE"), case .text(let pieces) = answer.output {
            answer.output = .text(pieces: Array(pieces.prefix(1)))
            answer.finishReason = "content_filter"
            answer.completionTokens = min(1, pieces.count)
            outputFiltered = true
        }
        let completion = AzureMockCompletion(
            id: ids.make(prefix: "chatcmpl-", length: 29, alphabet: .alphanumeric),
            created: Int(Date().timeIntervalSince1970), model: model, answer: answer,
            toolCallID: ids.make(prefix: "call_", length: 24, alphabet: .alphanumeric), outputFiltered: outputFiltered
        )
        let reply: MockReply
        if stream {
            reply = MockReply(
                status: .ok, headers: headers(contentType: "text/event-stream; charset=utf-8"),
                body: .stream(completion.events(includeUsage: streamOptions?["include_usage"] as? Bool ?? false))
            )
        } else {
            reply = json(completion.object())
        }
        return .answer(reply, model: model, faultSuffix: faults)
    }

    /// The documented 400 for a filtered prompt: OpenAI's shape extended with `status` and `innererror`.
    func contentFilterError() -> MockReply {
        let message =
            "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. "
            + "Please modify your prompt and retry. To learn more about our content filtering policies please read "
            + "our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
        let body =
            #"{"error":{"message":"# + MockJSON.quoted(message)
            + #","type":null,"param":"prompt","code":"content_filter","status":400,"innererror":{"#
            + #""code":"ResponsibleAIPolicyViolation","content_filter_result":{"#
            + #""hate":{"filtered":true,"severity":"medium"},"jailbreak":{"filtered":false,"detected":false},"#
            + #""self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"#
            + #""violence":{"filtered":false,"severity":"safe"}}}}}"#
        return json(body, status: .badRequest)
    }
}

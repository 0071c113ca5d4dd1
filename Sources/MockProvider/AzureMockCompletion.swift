/// One Azure answer in both shapes, keys in alphabetical order as Azure's captures show, with
/// `prompt_filter_results` and per-choice `content_filter_results` (docs/wire/azure.md).
struct AzureMockCompletion {
    var id: String
    var created: Int
    var model: String
    var answer: OpenAIMockChatAnswer
    var toolCallID: String
    /// The output was cut by the content filter (`finish_reason` `content_filter`, violence flagged).
    var outputFiltered: Bool

    static func severity(_ name: String, filtered: Bool = false, severity: String = "safe") -> String {
        #""\#(name)":{"filtered":\#(filtered),"severity":"\#(severity)"}"#
    }

    var categories: String {
        [
            Self.severity("hate"), Self.severity("self_harm"), Self.severity("sexual"),
            outputFiltered
                ? Self.severity("violence", filtered: true, severity: "high") : Self.severity("violence"),
        ].joined(separator: ",")
    }

    static let promptFilterResults =
        #""prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"#
        + severity("hate") + #","jailbreak":{"filtered":false,"detected":false},"# + severity("self_harm") + ","
        + severity("sexual") + "," + severity("violence") + "}}]"

    var usage: String {
        #"{"completion_tokens":\#(answer.completionTokens),"completion_tokens_details":{"reasoning_tokens":0},"#
            + #""prompt_tokens":\#(answer.promptTokens),"prompt_tokens_details":{"cached_tokens":0},"#
            + #""total_tokens":\#(answer.promptTokens + answer.completionTokens)}"#
    }

    private var tail: String {
        #""created":\#(created),"id":"\#(id)","model":"# + MockJSON.quoted(model)
    }

    /// The non-stream `chat.completion` object.
    func object() -> String {
        var out = #"{"choices":[{"content_filter_results":{"# + categories
        out += #","protected_material_code":{"filtered":false,"detected":false},"#
        out += #""protected_material_text":{"filtered":false,"detected":false}},"#
        out += #""finish_reason":"\#(answer.finishReason)","index":0,"logprobs":null,"message":{"annotations":[],"#
        switch answer.output {
        case .text(let pieces):
            out += #""content":"# + MockJSON.quoted(pieces.joined()) + #","refusal":null,"role":"assistant"}"#
        case .toolCall(let name, let arguments):
            out += #""content":null,"refusal":null,"role":"assistant","tool_calls":[{"function":{"arguments":"#
            out += MockJSON.quoted(arguments) + #","name":"# + MockJSON.quoted(name)
            out += #"},"id":"\#(toolCallID)","type":"function"}]}"#
        }
        out += "}]," + tail + #","object":"chat.completion","# + Self.promptFilterResults
        out += #","system_fingerprint":"\#(AzureMockResponder.systemFingerprint)","usage":"# + usage + "}"
        return out
    }

    /// The annotation chunk (`choices:[]`, empty id), the role chunk, content or tool-call chunks, the finish
    /// chunk, the usage chunk when asked for, and `data: [DONE]`.
    func events(includeUsage: Bool) -> [String] {
        let suffix =
            "]," + tail + #","object":"chat.completion.chunk","system_fingerprint":"#
            + #""\#(AzureMockResponder.systemFingerprint)"}"# + "\n\n"
        func chunk(filter: String, delta: String, finishReason: String = "null") -> String {
            #"data: {"choices":[{"content_filter_results":{\#(filter)},"delta":\#(delta),"finish_reason":"#
                + finishReason + #","index":0,"logprobs":null}"# + suffix
        }
        var events = [
            #"data: {"choices":[],"created":0,"id":"","model":"","object":"","# + Self.promptFilterResults + "}\n\n"
        ]
        switch answer.output {
        case .text(let pieces):
            events.append(chunk(filter: "", delta: #"{"content":"","refusal":null,"role":"assistant"}"#))
            for piece in pieces {
                events.append(chunk(filter: categories, delta: #"{"content":"# + MockJSON.quoted(piece) + "}"))
            }
        case .toolCall(let name, let arguments):
            events.append(
                chunk(
                    filter: "",
                    delta: #"{"content":null,"refusal":null,"role":"assistant","tool_calls":[{"function":{"#
                        + #""arguments":"","name":"# + MockJSON.quoted(name)
                        + #"},"id":"\#(toolCallID)","index":0,"type":"function"}]}"#
                )
            )
            for slice in MockTokens.slices(arguments, count: 3) {
                events.append(
                    chunk(
                        filter: "",
                        delta: #"{"tool_calls":[{"function":{"arguments":"# + MockJSON.quoted(slice)
                            + #"},"index":0}]}"#
                    )
                )
            }
        }
        events.append(chunk(filter: "", delta: "{}", finishReason: "\"\(answer.finishReason)\""))
        if includeUsage {
            events.append(
                #"data: {"choices":[],"# + tail + #","object":"chat.completion.chunk","system_fingerprint":"#
                    + #""\#(AzureMockResponder.systemFingerprint)","usage":"# + usage + "}\n\n"
            )
        }
        events.append("data: [DONE]\n\n")
        return events
    }
}

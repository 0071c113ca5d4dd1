import GatewayCore

/// Writes a `CanonicalRequest` as an Anthropic `/v1/messages` body.
///
/// - Instructions go to the top-level `system` (a string, or text blocks when there are several).
/// - `max_tokens` is always set: the request's, or `defaultMaxTokens` (raised above a thinking
///   budget when the client set none).
/// - Tool messages become `tool_result` blocks; consecutive same-role messages merge, and in a
///   merged user message every `tool_result` comes before other blocks. Empty text blocks and
///   unsigned thinking (which Anthropic rejects) are left out.
/// - Tool-call `arguments` become the `tool_use.input` object. Empty arguments read as `{}`;
///   arguments that are not a JSON object are refused with a 400 rather than guessed at.
/// - `temperature` above 1 is clamped to 1 (Anthropic's range is 0…1). With thinking on,
///   `temperature`, `top_p` and `top_k` are left out (Anthropic rejects them then).
/// - Left out, unsupported by Anthropic: `seed`, penalties, `response_format`, `metadata` other than
///   the end-user id, tool `strict`, image `detail`. `n` above 1 is refused.
enum AnthropicMessagesRequestEncoder {
    static func encode(_ request: CanonicalRequest, defaultMaxTokens: Int) throws(GatewayError) -> [UInt8] {
        if let count = request.sampling.choiceCount, count > 1 {
            throw GatewayError(.badRequest, "n > 1 is not supported by this provider.", param: "n")
        }
        let messages = try AnthropicMessageBuilder.messages(request.messages)
        let thinkingBudget = budget(request.thinking, maxTokens: request.sampling.maxOutputTokens)
        var maxTokens = request.sampling.maxOutputTokens ?? defaultMaxTokens
        if let thinkingBudget, request.sampling.maxOutputTokens == nil, maxTokens <= thinkingBudget {
            maxTokens = thinkingBudget + defaultMaxTokens
        }
        let thinkingOn = thinkingBudget != nil

        var json = JSONWriter(capacity: 1024)
        json.object {
            $0.field("model", request.model)
            $0.field("max_tokens", maxTokens)
            writeSystem(request.system, into: &$0)
            $0.key("messages")
            $0.raw(messages)
            if !request.tools.isEmpty { writeTools(request, into: &$0) }
            if let thinkingBudget {
                $0.key("thinking")
                $0.object {
                    $0.field("type", "enabled")
                    $0.field("budget_tokens", thinkingBudget)
                }
            } else if request.thinking == .disabled {
                $0.key("thinking")
                $0.object { $0.field("type", "disabled") }
            }
            let sampling = request.sampling
            if !thinkingOn {
                if let temperature = sampling.temperature { $0.field("temperature", min(temperature, 1)) }
                if let topP = sampling.topP { $0.field("top_p", topP) }
                if let topK = sampling.topK { $0.field("top_k", topK) }
            }
            if !sampling.stopSequences.isEmpty { $0.stringArray("stop_sequences", sampling.stopSequences) }
            if let user = request.user {
                $0.key("metadata")
                $0.object { $0.field("user_id", user) }
            }
            if request.stream { $0.field("stream", true) }
        }
        return json.bytes
    }

    /// The thinking budget to send, or nil for none. Effort levels map to 1024/4096/16384 tokens,
    /// kept below the client's `max_tokens`; under Anthropic's 1024 minimum, thinking stays off.
    static func budget(_ thinking: CanonicalThinking?, maxTokens: Int?) -> Int? {
        switch thinking {
        case .budget(let tokens): return tokens
        case .effort(let effort):
            var tokens: Int
            switch effort {
            case "low": tokens = 1024
            case "medium": tokens = 4096
            case "high": tokens = 16384
            default: return nil
            }
            if let maxTokens { tokens = min(tokens, maxTokens - 1) }
            return tokens >= 1024 ? tokens : nil
        case .disabled, nil: return nil
        }
    }

    private static func writeSystem(_ system: [String], into json: inout JSONWriter) {
        let texts = system.filter { !$0.isEmpty }
        guard !texts.isEmpty else { return }
        if texts.count == 1 { return json.field("system", texts[0]) }
        json.key("system")
        json.array { json in
            for text in texts {
                json.object {
                    $0.field("type", "text")
                    $0.field("text", text)
                }
            }
        }
    }

    private static func writeTools(_ request: CanonicalRequest, into json: inout JSONWriter) {
        json.key("tools")
        json.array { json in
            for tool in request.tools {
                json.object {
                    $0.field("name", tool.name)
                    if let description = tool.description { $0.field("description", description) }
                    $0.field(
                        "input_schema", rawJSON: tool.parameters ?? Array(#"{"type":"object","properties":{}}"#.utf8))
                }
            }
        }
        let disableParallel = request.parallelToolCalls == false
        let choice: (type: String, name: String?)? =
            switch request.toolChoice {
            case .auto: ("auto", nil)
            case .required: ("any", nil)
            case .disabled: ("none", nil)
            case .tool(let name): ("tool", name)
            case nil: disableParallel ? ("auto", nil) : nil
            }
        guard let choice else { return }
        json.key("tool_choice")
        json.object {
            $0.field("type", choice.type)
            if let name = choice.name { $0.field("name", name) }
            if disableParallel && choice.type != "none" { $0.field("disable_parallel_tool_use", true) }
        }
    }
}

import GatewayCore

/// Writes a `CanonicalRequest` as a Gemini `generateContent` body (the model goes in the URL).
///
/// - Instructions go to `systemInstruction.parts`; messages to `contents` (see `GeminiContentsBuilder`).
/// - Tools become one `functionDeclarations` tool; the choice becomes
///   `toolConfig.functionCallingConfig.mode` (`AUTO`, `NONE`, `ANY`, plus `allowedFunctionNames` for
///   a named tool).
/// - `generationConfig`: temperature, topP, topK, maxOutputTokens, stopSequences, candidateCount,
///   seed, presence and frequency penalties, `responseMimeType: application/json` for the JSON
///   formats (with `responseJsonSchema` when a schema is given), `thinkingConfig.thinkingBudget`
///   (0 when thinking is disabled; effort levels low/medium/high as 1024/8192/24576 tokens).
/// - Left out: `parallel_tool_calls`, `user`, `metadata`, tool `strict`, image `detail`. `n` above 1
///   is refused (only the first candidate would be read back).
enum GeminiRequestEncoder {
    static func encode(_ request: CanonicalRequest) throws(GatewayError) -> [UInt8] {
        if let count = request.sampling.choiceCount, count > 1 {
            throw GatewayError(.badRequest, "n > 1 is not supported by this provider.", param: "n")
        }
        let contents = try GeminiContentsBuilder.contents(request.messages)
        var json = JSONWriter(capacity: 1024)
        json.object {
            writeSystem(request.system, into: &$0)
            $0.key("contents")
            $0.raw(contents)
            if !request.tools.isEmpty { writeTools(request, into: &$0) }
            writeGenerationConfig(request, into: &$0)
        }
        return json.bytes
    }

    /// The thinking budget to send, or nil to leave the model's default.
    static func thinkingBudget(_ thinking: CanonicalThinking?) -> Int? {
        switch thinking {
        case .budget(let tokens): tokens
        case .disabled: 0
        case .effort(let effort):
            switch effort {
            case "minimal", "low": 1024
            case "medium": 8192
            case "high": 24576
            case "none": 0
            default: nil
            }
        case nil: nil
        }
    }

    private static func writeSystem(_ system: [String], into json: inout JSONWriter) {
        let texts = system.filter { !$0.isEmpty }
        guard !texts.isEmpty else { return }
        json.key("systemInstruction")
        json.object {
            $0.key("parts")
            $0.array { json in
                for text in texts { json.object { $0.field("text", text) } }
            }
        }
    }

    private static func writeTools(_ request: CanonicalRequest, into json: inout JSONWriter) {
        json.key("tools")
        json.array { json in
            json.object {
                $0.key("functionDeclarations")
                $0.array { json in
                    for tool in request.tools {
                        json.object {
                            $0.field("name", tool.name)
                            if let description = tool.description { $0.field("description", description) }
                            if let parameters = tool.parameters { $0.field("parameters", rawJSON: parameters) }
                        }
                    }
                }
            }
        }
        let choice: (mode: String, name: String?)? =
            switch request.toolChoice {
            case .auto: ("AUTO", nil)
            case .disabled: ("NONE", nil)
            case .required: ("ANY", nil)
            case .tool(let name): ("ANY", name)
            case nil: nil
            }
        guard let choice else { return }
        json.key("toolConfig")
        json.object {
            $0.key("functionCallingConfig")
            $0.object {
                $0.field("mode", choice.mode)
                if let name = choice.name { $0.stringArray("allowedFunctionNames", [name]) }
            }
        }
    }

    private static func writeGenerationConfig(_ request: CanonicalRequest, into json: inout JSONWriter) {
        let sampling = request.sampling
        var config = JSONWriter(capacity: 256)
        config.object {
            if let value = sampling.temperature { $0.field("temperature", value as Double?) }
            if let value = sampling.topP { $0.field("topP", value as Double?) }
            if let value = sampling.topK { $0.field("topK", value) }
            if let value = sampling.maxOutputTokens { $0.field("maxOutputTokens", value) }
            if !sampling.stopSequences.isEmpty { $0.stringArray("stopSequences", sampling.stopSequences) }
            if let value = sampling.choiceCount { $0.field("candidateCount", value) }
            if let value = sampling.seed { $0.field("seed", value) }
            if let value = sampling.presencePenalty { $0.field("presencePenalty", value as Double?) }
            if let value = sampling.frequencyPenalty { $0.field("frequencyPenalty", value as Double?) }
            switch request.responseFormat {
            case .jsonObject:
                $0.field("responseMimeType", "application/json")
            case .jsonSchema(_, let schema, _):
                $0.field("responseMimeType", "application/json")
                if let schema { $0.field("responseJsonSchema", rawJSON: schema) }
            case .text, nil: break
            }
            if let budget = thinkingBudget(request.thinking) {
                $0.key("thinkingConfig")
                $0.object { $0.field("thinkingBudget", budget) }
            }
        }
        guard config.bytes.count > 2 else { return }
        json.field("generationConfig", rawJSON: config.bytes)
    }
}

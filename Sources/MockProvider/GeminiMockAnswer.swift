/// The deterministic answer to a `generateContent` request, rendered whole or as stream chunks that agree on
/// text and usage:
///
/// - last user text contains `BLOCKME`: a blocked prompt (`promptFeedback.blockReason`, no candidates);
/// - it contains `UNSAFE`: a candidate with `finishReason: SAFETY` and no content;
/// - last user turn has `functionResponse` parts: `Tool result received: <their text>`;
/// - tools given, mode not `NONE`: one whole `functionCall` part (no id), still `finishReason: STOP`;
/// - otherwise `Hello! You said: <last user text>`, cut to `maxOutputTokens` (`MAX_TOKENS`).
///
/// With thinking on, `thoughtsTokenCount` is reported; with `includeThoughts`, a `thought` part comes first.
struct GeminiMockAnswer {
    enum Output {
        case text(pieces: [String])
        case call(name: String, args: String)
        case unsafe
        case blocked
    }

    var output: Output
    var finishReason = "STOP"
    var thought: String?
    var thoughtsTokens: Int?
    var promptTokens: Int
    var candidatesTokens = 0
    var model: String
    var responseID: String
    var signature: String
    /// Vertex AI's shape (docs/wire/vertex.md §2.2): `createTime` after `modelVersion`,
    /// `trafficType` and `candidatesTokensDetails` in the usage, candidates without `index`, `role`
    /// before `parts`.
    var vertexCreateTime: String?

    init(_ request: GeminiMockRequest, model: String, responseID: String, signature: String) {
        self.model = model
        self.responseID = responseID
        self.signature = signature
        promptTokens = request.promptTokens
        if request.lastUserText.contains("BLOCKME") {
            output = .blocked
            return
        }
        if request.thinking {
            let text = "Thinking about: " + request.lastUserText
            thoughtsTokens = MockTokens.count(text) + 20
            if request.includeThoughts { thought = text }
        }
        if request.lastUserText.contains("UNSAFE") {
            output = .unsafe
            finishReason = "SAFETY"
            return
        }
        if request.toolResult == nil, let function = request.function {
            let args = OpenAIMockToolArguments.render(schema: function.schema)
            output = .call(name: function.name, args: args)
            candidatesTokens = MockTokens.count(function.name) + MockTokens.count(args)
            return
        }
        let text: String
        if let result = request.toolResult {
            text = "Tool result received: " + result
        } else {
            text = request.lastUserText.isEmpty ? "Hello!" : "Hello! You said: " + request.lastUserText
        }
        var pieces = MockTokens.pieces(text)
        if let max = request.maxOutputTokens, max < pieces.count {
            pieces.removeLast(pieces.count - max)
            finishReason = "MAX_TOKENS"
        }
        output = .text(pieces: pieces)
        candidatesTokens = pieces.count
    }

    func usage(candidates: Int?, thoughts: Int?) -> String {
        let total = promptTokens + (candidates ?? 0) + (thoughts ?? 0)
        var out = #"{"promptTokenCount":\#(promptTokens),"#
        if let candidates { out += #""candidatesTokenCount":\#(candidates),"# }
        out += #""totalTokenCount":\#(total),"promptTokensDetails":[{"modality":"TEXT","tokenCount":\#(promptTokens)}]"#
        if vertexCreateTime != nil {
            out += #","trafficType":"ON_DEMAND""#
            if let candidates {
                out += #","candidatesTokensDetails":[{"modality":"TEXT","tokenCount":\#(candidates)}]"#
            }
        }
        if let thoughts { out += #","thoughtsTokenCount":\#(thoughts)"# }
        return out + "}"
    }

    private var tail: String {
        #","modelVersion":"# + MockJSON.quoted(model)
            + (vertexCreateTime.map { #","createTime":"\#($0)""# } ?? "") + #","responseId":"\#(responseID)"}"#
    }

    private func candidate(_ parts: [String], finish: Bool) -> String {
        let finishReason = finish ? #","finishReason":"\#(finishReason)""# : ""
        if vertexCreateTime != nil {
            return #"{"candidates":[{"content":{"role":"model","parts":["# + parts.joined(separator: ",") + "]}"
                + finishReason + "}],"
        }
        return #"{"candidates":[{"content":{"parts":["# + parts.joined(separator: ",") + #"],"role":"model"}"#
            + finishReason + #","index":0}],"#
    }

    private var thoughtPart: String? {
        thought.map { #"{"text":"# + MockJSON.quoted($0) + #","thought":true}"# }
    }

    private var callPart: String? {
        guard case .call(let name, let args) = output else { return nil }
        return #"{"functionCall":{"name":"# + MockJSON.quoted(name) + #","args":"# + args + "}"
            + (thoughtsTokens == nil ? "" : #","thoughtSignature":"\#(signature)""#) + "}"
    }

    private func textPart(_ text: String) -> String { #"{"text":"# + MockJSON.quoted(text) + "}" }

    /// Answers that are one chunk in both shapes: a blocked prompt or a safety stop.
    private var filtered: String? {
        switch output {
        case .blocked:
            return #"{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"#
                + #""HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH"}]},"usageMetadata":"#
                + usage(candidates: nil, thoughts: nil) + tail
        case .unsafe:
            return #"{"candidates":[{"finishReason":"SAFETY","index":0,"safetyRatings":[{"category":"#
                + #""HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]}],"usageMetadata":"#
                + usage(candidates: 0, thoughts: thoughtsTokens) + tail
        case .text, .call:
            return nil
        }
    }

    /// The non-stream `GenerateContentResponse`, compact (the responder pretty-prints it).
    func object() -> String {
        if let filtered { return filtered }
        var parts = thoughtPart.map { [$0] } ?? []
        switch output {
        case .text(let pieces): parts.append(textPart(pieces.joined()))
        default: parts += callPart.map { [$0] } ?? []
        }
        return candidate(parts, finish: true) + #""usageMetadata":"#
            + usage(candidates: candidatesTokens, thoughts: thoughtsTokens) + tail
    }

    /// Stream chunks: an optional thought chunk, then two text pieces per chunk (or the whole function call),
    /// each with the running usage; `finishReason` on the last.
    func chunks() -> [String] {
        if let filtered { return [filtered] }
        var chunks: [String] = []
        if let thoughtPart {
            chunks.append(
                candidate([thoughtPart], finish: false) + #""usageMetadata":"#
                    + usage(candidates: 0, thoughts: thoughtsTokens) + tail
            )
        }
        switch output {
        case .text(let pieces):
            var sent = 0
            while sent < max(pieces.count, 1) {
                let group = pieces.isEmpty ? [""] : Array(pieces[sent..<min(sent + 2, pieces.count)])
                sent += 2
                let last = sent >= pieces.count
                chunks.append(
                    candidate([textPart(group.joined())], finish: last) + #""usageMetadata":"#
                        + usage(candidates: min(sent, pieces.count), thoughts: thoughtsTokens) + tail
                )
            }
        default:
            chunks.append(
                candidate(callPart.map { [$0] } ?? [], finish: true) + #""usageMetadata":"#
                    + usage(candidates: candidatesTokens, thoughts: thoughtsTokens) + tail
            )
        }
        return chunks
    }
}

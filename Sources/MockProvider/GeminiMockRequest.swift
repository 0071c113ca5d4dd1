import Foundation

/// A `GenerateContentRequest` the mock has validated as the real API would (unknown fields, roles, parts,
/// function call/response pairing, tools, tool config, generation config), reduced to what the answer needs.
struct GeminiMockRequest {
    var promptTokens = 3
    var lastUserText = ""
    /// The function responses of the last user turn, as text, when it has any.
    var toolResult: String?
    /// The function to call: nil without tools or with mode `NONE`.
    var function: (name: String, schema: [String: Any])?
    var maxOutputTokens: Int?
    var thinking = false
    var thoughtSignaturesRequired = false
    var includeThoughts = false
    /// Validated as Vertex AI does (docs/wire/vertex.md §2.1): `role` required on every content,
    /// `labels` accepted, Gemini-API-only fields (`functionResponse.id`, `partMetadata`,
    /// `enableEnhancedCivicAnswers`) refused as unknown.
    var vertex = false

    static let fields = [
        "contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings", "cachedContent",
        "model",
    ]
    static let generationFields = [
        "temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "candidateCount", "responseMimeType",
        "responseSchema", "responseJsonSchema", "thinkingConfig", "presencePenalty", "frequencyPenalty", "seed",
        "responseLogprobs", "logprobs", "responseModalities", "speechConfig", "mediaResolution",
        "enableEnhancedCivicAnswers", "imageConfig",
    ]
    static let partFields = [
        "text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult",
        "thought", "thoughtSignature", "videoMetadata", "partMetadata", "mediaResolution",
    ]
    static let dataFields = [
        "text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult",
    ]

    /// - Parameter model: Gemini 3 models (`gemini-3…`) always think, and refuse a history whose
    ///   function calls lost their `thoughtSignature`.
    init(body: [String: Any], model: String = "", vertex: Bool = false) throws(GeminiMockRejection) {
        self.vertex = vertex
        thoughtSignaturesRequired = model.hasPrefix("gemini-3")
        let body = try Self.fields(body, allowed: Self.fields + (vertex ? ["labels"] : []), at: nil)
        if vertex { try Self.labels(body["labels"]) }
        try systemInstruction(body["systemInstruction"])
        let functions = try Self.functions(body["tools"])
        function = try Self.chosenFunction(functions, config: body["toolConfig"])
        try generationConfig(body["generationConfig"])
        if thoughtSignaturesRequired { thinking = true }
        guard let contents = body["contents"] as? [[String: Any]], !contents.isEmpty else {
            throw .init("* GenerateContentRequest.contents: contents is not specified\n")
        }
        var pendingCalls = 0
        var previousRole: String?
        for (index, rawContent) in contents.enumerated() {
            let content = try Self.fields(rawContent, allowed: ["role", "parts"], at: "contents[\(index)]")
            if vertex, content["role"] == nil { throw .init("Please use a valid role: user, model.") }
            let role = content["role"] as? String ?? "user"
            guard role == "user" || role == "model" else { throw .init("Please use a valid role: user, model.") }
            let tally = try parts(content["parts"], at: "contents[\(index)]", role: role)
            if tally.responses > 0, pendingCalls == 0 {
                throw .init("Please ensure that function response turn comes immediately after a function call turn.")
            }
            if pendingCalls > 0, tally.responses != pendingCalls {
                throw .init(
                    "Please ensure that the number of function response parts is equal to the number of function "
                        + "call parts of the function call turn."
                )
            }
            if tally.calls > 0, role != "model" || (previousRole == "model" && pendingCalls == 0) {
                throw .init(
                    "Please ensure that function call turn comes immediately after a user turn or after a function "
                        + "response turn."
                )
            }
            pendingCalls = tally.calls
            previousRole = role
            if role == "user" {
                lastUserText = tally.texts.joined(separator: " ")
                toolResult = tally.results.isEmpty ? nil : tally.results.joined(separator: " ")
            }
        }
    }

    /// Both spellings are accepted on input (`systemInstruction`, `system_instruction`); returns camelCase keys.
    static func fields(
        _ object: [String: Any], allowed: [String], at path: String?
    ) throws(GeminiMockRejection) -> [String: Any] {
        var result: [String: Any] = [:]
        for key in object.keys.sorted() {
            let value = object[key]
            let camel = camelCase(key)
            guard allowed.contains(camel) else {
                let location = path.map { " at '\(snakePath($0))'" } ?? ""
                throw .init("Invalid JSON payload received. Unknown name \"\(key)\"\(location): Cannot find field.")
            }
            result[camel] = value
        }
        return result
    }

    static func camelCase(_ key: String) -> String {
        var out = ""
        var upper = false
        for character in key {
            if character == "_" {
                upper = true
            } else {
                out.append(upper ? Character(character.uppercased()) : character)
                upper = false
            }
        }
        return out
    }

    static func snakePath(_ path: String) -> String {
        var out = ""
        for character in path {
            if character.isUppercase { out += "_" + character.lowercased() } else { out.append(character) }
        }
        return out
    }

    private mutating func systemInstruction(_ value: Any?) throws(GeminiMockRejection) {
        guard let value, !(value is NSNull) else { return }
        guard let object = value as? [String: Any] else {
            throw .init(
                "Invalid value at 'system_instruction' (type.googleapis.com/google.ai.generativelanguage.v1beta."
                    + "Content), \"\(value)\""
            )
        }
        let content = try Self.fields(object, allowed: ["role", "parts"], at: "systemInstruction")
        promptTokens += try parts(content["parts"], at: "systemInstruction", role: "system").tokens
    }

    private mutating func generationConfig(_ value: Any?) throws(GeminiMockRejection) {
        guard let value, !(value is NSNull) else { return }
        guard let object = value as? [String: Any] else {
            throw .init("Invalid JSON payload received. Expected an object for 'generation_config'.")
        }
        let allowed =
            vertex
            ? Self.generationFields.filter { $0 != "enableEnhancedCivicAnswers" }
                + ["routingConfig", "modelSelectionConfig", "audioTimestamp"]
            : Self.generationFields
        let config = try Self.fields(object, allowed: allowed, at: "generationConfig")
        if let max = config["maxOutputTokens"] {
            guard let number = max as? Int, number > 0 else {
                throw .init("* GenerateContentRequest.generation_config.max_output_tokens: must be positive\n")
            }
            maxOutputTokens = number
        }
        if let thinking = config["thinkingConfig"] as? [String: Any] {
            let thinkingConfig = try Self.fields(
                thinking, allowed: ["thinkingBudget", "includeThoughts", "thinkingLevel"],
                at: "generationConfig.thinkingConfig"
            )
            includeThoughts = thinkingConfig["includeThoughts"] as? Bool ?? false
            let budget = thinkingConfig["thinkingBudget"] as? Int
            self.thinking = includeThoughts || (budget ?? 0) != 0 || thinkingConfig["thinkingLevel"] != nil
        }
    }
}

extension GeminiMockRequest {
    /// Vertex `labels`: at most 64, keys 1–63 characters starting with a lowercase letter, values up
    /// to 63; lowercase letters, digits, `_` and `-` only.
    static func labels(_ value: Any?) throws(GeminiMockRejection) {
        guard let value else { return }
        guard let labels = value as? [String: Any], labels.count <= 64 else {
            throw .init("Invalid JSON payload received. Expected a map of at most 64 labels for 'labels'.")
        }
        func valid(_ text: String) -> Bool {
            text.count <= 63
                && text.unicodeScalars.allSatisfy {
                    ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
                }
        }
        for (key, item) in labels {
            guard let text = item as? String, valid(text), valid(key), key.first?.isLetter == true else {
                throw .init("Label key or value \"\(key)\" is invalid.")
            }
        }
    }
}

/// A 400 `INVALID_ARGUMENT` message.
struct GeminiMockRejection: Error {
    var message: String

    init(_ message: String) { self.message = message }
}

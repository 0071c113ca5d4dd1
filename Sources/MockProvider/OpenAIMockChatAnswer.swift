/// The deterministic answer to a chat request, shared by the non-stream and stream renderings so their
/// text and token counts always agree.
///
/// - last message `tool`: text that quotes the tool result (`Tool result received: 18C, cloudy`);
/// - `tools` present, `tool_choice` not `"none"`, last message `user`: a call to the forced or first tool,
///   arguments made from its schema's properties (`{"city":"Paris"}`);
/// - otherwise: `Hello! You said: <last user text>`, cut to `max_completion_tokens` pieces.
struct OpenAIMockChatAnswer {
    enum Output {
        case text(pieces: [String])
        case toolCall(name: String, arguments: String)
    }

    var output: Output
    var finishReason: String
    var promptTokens: Int
    var completionTokens: Int

    init(messages: [[String: Any]], tools: [[String: Any]], toolChoice: Any?, maxTokens: Int?) {
        promptTokens = 3
        for message in messages { promptTokens += 3 + MockTokens.count(Self.text(of: message["content"])) }
        let functions = tools.compactMap { $0["function"] as? [String: Any] }
        for function in functions { promptTokens += MockTokens.count(function["name"] as? String ?? "") + 8 }

        let last = messages.last ?? [:]
        let role = last["role"] as? String
        if role == "user", let function = Self.chosenFunction(functions, choice: toolChoice),
            let name = function["name"] as? String
        {
            let arguments = OpenAIMockToolArguments.render(schema: function["parameters"] as? [String: Any])
            output = .toolCall(name: name, arguments: arguments)
            finishReason = "tool_calls"
            completionTokens = MockTokens.count(name) + MockTokens.count(arguments)
            return
        }
        let answer: String
        if role == "tool" {
            answer = "Tool result received: " + Self.text(of: last["content"])
        } else {
            let lastUser = messages.last { $0["role"] as? String == "user" }
            let said = lastUser.map { Self.text(of: $0["content"]) } ?? ""
            answer = said.isEmpty ? "Hello!" : "Hello! You said: " + said
        }
        var pieces = MockTokens.pieces(answer)
        finishReason = "stop"
        if let maxTokens, maxTokens > 0, maxTokens < pieces.count {
            pieces.removeLast(pieces.count - maxTokens)
            finishReason = "length"
        }
        output = .text(pieces: pieces)
        completionTokens = pieces.count
    }

    var text: String? {
        if case .text(let pieces) = output { return pieces.joined() }
        return nil
    }

    /// `tool_choice`: `"none"` disables tools, `{"type":"function","function":{"name":…}}` forces one,
    /// anything else (`auto`, `required`, absent) picks the first tool.
    private static func chosenFunction(_ functions: [[String: Any]], choice: Any?) -> [String: Any]? {
        if let choice = choice as? String, choice == "none" { return nil }
        if let choice = choice as? [String: Any],
            let forced = (choice["function"] as? [String: Any])?["name"]
                as? String
        {
            return functions.first { $0["name"] as? String == forced } ?? functions.first
        }
        return functions.first
    }

    /// Message content as text: a string, or the `text` parts of a parts array joined.
    static func text(of content: Any?) -> String {
        if let string = content as? String { return string }
        if let parts = content as? [[String: Any]] {
            return parts.compactMap { $0["text"] as? String }.joined(separator: " ")
        }
        return ""
    }
}

/// Deterministic stand-ins for a tokenizer: a piece is a word with its leading spaces, a token is a run of
/// letters or digits or any other single non-space character.
enum MockTokens {
    static func count(_ text: String) -> Int {
        var tokens = 0
        var inWord = false
        for scalar in text.unicodeScalars {
            if scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                if !inWord { tokens += 1 }
                inWord = true
            } else {
                inWord = false
                if !scalar.properties.isWhitespace { tokens += 1 }
            }
        }
        return tokens
    }

    /// `"Hello! You said: hi"` -> `["Hello!", " You", " said:", " hi"]`; joining gives the text back.
    static func pieces(_ text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var previousWasSpace = true
        for character in text {
            let isSpace = character.isWhitespace
            if isSpace, !previousWasSpace, !current.isEmpty {
                pieces.append(current)
                current = ""
            }
            current.append(character)
            previousWasSpace = isSpace
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }

    /// `text` in `count` nearly equal consecutive slices (fewer when it is shorter).
    static func slices(_ text: String, count: Int) -> [String] {
        let characters = Array(text)
        guard !characters.isEmpty else { return [""] }
        let size = max(1, (characters.count + count - 1) / count)
        return stride(from: 0, to: characters.count, by: size).map {
            String(characters[$0..<min($0 + size, characters.count)])
        }
    }
}

/// Tool-call arguments made up from a JSON schema: properties in name order, values by type and name.
enum OpenAIMockToolArguments {
    static func render(schema: [String: Any]?) -> String {
        let properties = schema?["properties"] as? [String: Any] ?? [:]
        var out = "{"
        for (offset, name) in properties.keys.sorted().enumerated() {
            if offset > 0 { out += "," }
            MockJSON.appendQuoted(name, to: &out)
            out += ":" + value(name: name, schema: properties[name] as? [String: Any] ?? [:])
        }
        return out + "}"
    }

    private static func value(name: String, schema: [String: Any]) -> String {
        if let options = schema["enum"] as? [Any], let first = options.first {
            if let string = first as? String { return MockJSON.quoted(string) }
            return "\(first)"
        }
        switch schema["type"] as? String {
        case "integer": return "1"
        case "number": return "1.5"
        case "boolean": return "true"
        case "array": return "[]"
        case "object": return render(schema: schema)
        case "null": return "null"
        default:
            let samples = [
                "city": "Paris", "location": "Paris", "country": "France", "unit": "celsius", "units": "celsius",
                "query": "llmgw", "date": "2025-01-01", "name": "Ada", "email": "ada@example.com",
            ]
            return MockJSON.quoted(samples[name.lowercased()] ?? "sample")
        }
    }
}

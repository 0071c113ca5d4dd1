import Foundation
import GatewayTesting
import MockProvider
import Testing

/// A corpus of malformed and hostile request bodies, sent over the Unix socket to a gateway with
/// limits in force (a virtual key with rpm, tpm and a budget; targets with a tpm quota). Every
/// one gets a well-formed answer in the client's dialect — a 4xx for what is invalid — and the
/// process stays up.
@Suite(.timeLimit(.minutes(3))) struct BadInputEndToEndTests {
    /// What a case must get: a 4xx, or (for values some provider may accept) a 2xx or a 4xx.
    enum Expectation { case clientError, answerOrClientError }

    struct Case {
        var label: String
        var body: [UInt8]
        var expectation: Expectation
    }

    static let edgeNumbers = [
        "9223372036854775807", "9223372036854775808", "18446744073709551616", "1e17", "1e18", "1e400", "-1", "0",
        "0.5", "1.5", "-0", "1E2", "-9223372036854775809", "123456789012345678901234567890",
    ]

    // MARK: The corpus

    /// Bodies for a route whose valid form is `valid` (a JSON object text with `"model"` and
    /// `"messages"` or `"input"`).
    static func corpus(valid: String, fields: [String], integerFields: [String], numberFields: [String]) -> [Case] {
        var cases: [Case] = []
        func add(_ label: String, _ text: String, _ expectation: Expectation = .clientError) {
            cases.append(Case(label: label, body: Array(text.utf8), expectation: expectation))
        }
        func member(_ name: String, _ value: String) -> String {
            String(valid.dropLast()) + #","\#(name)":\#(value)}"#
        }
        // Truncated and invalid JSON.
        let bytes = Array(valid.utf8)
        for cut in stride(from: 0, to: bytes.count - 1, by: max(1, bytes.count / 12)) {
            cases.append(Case(label: "truncated at \(cut)", body: Array(bytes[..<cut]), expectation: .clientError))
        }
        for text in [
            "", "null", "[]", "\"text\"", "42", "{", "}", "{]", "{\"model\"}", "{\"model\":}", "{,}",
            "{'model':'smart'}",
            valid + "x", valid + valid, "{\"model\":\"smart\",}", "\u{FEFF}" + valid, "{\"a\":tru}", "{\"a\":nul}",
            "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":+1}", "{\"a\":0x10}", "{\"a\":NaN}", "{\"a\":Infinity}",
            "{\"a\":\"\\x41\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\ud800\"}",
        ] {
            add("invalid JSON \(text.prefix(30))", text)
        }
        // Wrong types for every field the gateway or the translators read.
        let wrongValues = ["1", "\"x\"", "true", "[]", "{}", "[1,2]", "{\"a\":1}"]
        let kinds: [String: Set<String>] = [
            "model": ["\"x\""], "messages": ["[]", "[1,2]"], "input": ["\"x\"", "[]", "[1,2]"], "stream": ["true"],
            "temperature": ["1"], "top_p": ["1"], "presence_penalty": ["1"], "frequency_penalty": ["1"],
            "max_tokens": ["1"], "max_completion_tokens": ["1"], "n": ["1"], "seed": ["1"], "top_k": ["1"],
            "stream_options": ["{}", "{\"a\":1}"], "tools": ["[]", "[1,2]"],
            "tool_choice": ["\"x\"", "{}", "{\"a\":1}"],
            "stop": ["\"x\"", "[]", "[1,2]"], "stop_sequences": ["[]", "[1,2]"], "user": ["\"x\""],
            "metadata": ["{}", "{\"a\":1}"], "response_format": ["{}", "{\"a\":1}"],
            "system": ["\"x\"", "[]", "[1,2]"],
            "thinking": ["{}", "{\"a\":1}"], "logprobs": ["true"], "parallel_tool_calls": ["true"],
        ]
        for field in fields {
            let accepted = kinds[field] ?? []
            for value in wrongValues {
                // Right kind, wrong content: a provider may accept it (or the mock may).
                let expectation: Expectation = accepted.contains(value) ? .answerOrClientError : .clientError
                add("\(field)=\(value)", replacing(valid, field, value), field == "model" ? .clientError : expectation)
            }
        }
        // Numbers at every edge, in every integer field (all out of range or not plain integers)
        // and in every number field (provider-checked, so any well-formed answer).
        for field in integerFields {
            for number in edgeNumbers where number != "1E2" || field == "n" {
                // top_k may be 0; every other integer field starts at 1.
                let zero = field == "top_k" && (number == "0" || number == "-0")
                add("\(field)=\(number)", replacing(valid, field, number), zero ? .answerOrClientError : .clientError)
            }
            add("\(field)=2147483647", replacing(valid, field, "2147483647"), .answerOrClientError)
        }
        for field in numberFields {
            for number in edgeNumbers { add("\(field)=\(number)", member(field, number), .answerOrClientError) }
        }
        // Duplicate keys, huge strings and arrays, deep nesting.
        add("duplicate model", member("model", "\"other\""))
        let required = fields[1]
        add("duplicate \(required)", member(required, "[]"))
        add("duplicate user", String(valid.dropLast()) + #","user":"a","user":"b"}"#)
        let huge = String(repeating: "A", count: 900_000)
        add("huge model name", replacing(valid, "model", "\"\(huge)\""))
        add("huge unknown string member", member("x_huge", "\"\(huge)\""), .answerOrClientError)
        add(
            "huge array member",
            member("x_array", "[" + Array(repeating: "0", count: 200_000).joined(separator: ",") + "]"),
            .answerOrClientError)
        add(
            "deep nesting 100000",
            member("x_deep", String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)))
        add(
            "deep nesting 300",
            member("x_deep", String(repeating: "{\"a\":", count: 300) + "1" + String(repeating: "}", count: 300)))
        add(
            "deep nesting 200",
            member("x_deep", String(repeating: "[", count: 200) + String(repeating: "]", count: 200)),
            .answerOrClientError)
        // Invalid UTF-8 and NUL bytes.
        for (label, bad) in [
            ("lone continuation", [0x80]), ("overlong", [0xC0, 0xAF]), ("surrogate", [0xED, 0xA0, 0x80]),
            ("past U+10FFFF", [0xF4, 0x90, 0x80, 0x80]), ("truncated sequence", [0xE2, 0x82]), ("0xFF", [0xFF]),
            ("raw NUL in a string", [0x00]),
        ] as [(String, [UInt8])] {
            var body = Array(member("x_text", "\"ab\"").utf8)
            body.insert(contentsOf: bad, at: body.count - 3)
            cases.append(Case(label: label, body: body, expectation: .clientError))
        }
        var nulOutside = Array(valid.utf8)
        nulOutside.insert(0x00, at: 1)
        cases.append(Case(label: "NUL outside strings", body: nulOutside, expectation: .clientError))
        add("escaped NUL", member("x_text", #""a\u0000b""#), .answerOrClientError)
        return cases
    }

    /// `valid` with `field`'s value replaced (or the member added when absent).
    static func replacing(_ valid: String, _ field: String, _ value: String) -> String {
        guard var object = try? JSONSerialization.jsonObject(with: Data(valid.utf8)) as? [String: Any] else {
            return valid
        }
        object.removeValue(forKey: field)
        let rest =
            (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map {
                String(decoding: $0, as: UTF8.self)
            } ?? "{}"
        return #"{"\#(field)":\#(value),"# + rest.dropFirst()
    }

    // MARK: Running it

    static let chatIntegers = ["max_tokens", "max_completion_tokens", "n", "top_k"]
    static let chatFields = [
        "model", "messages", "stream", "temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens",
        "max_completion_tokens", "n", "seed", "stream_options", "tools", "tool_choice", "stop", "user", "metadata",
        "response_format", "logprobs", "parallel_tool_calls",
    ]
    static let messagesFields = [
        "model", "messages", "stream", "temperature", "top_p", "top_k", "max_tokens", "tools", "tool_choice",
        "stop_sequences", "metadata", "system", "thinking",
    ]
    static let numbers = ["temperature", "top_p", "presence_penalty", "frequency_penalty"]

    @Test func everyBadBodyGetsAWellFormedAnswerInItsDialect() async throws {
        try await HeavyTestGate.exclusively {
            try await withMocks([
                MockProviderConfiguration(apiKey: GatewayBinary.providerKey),
                MockProviderConfiguration(dialect: .anthropic, apiKey: GatewayBinary.providerKey),
                MockProviderConfiguration(dialect: .gemini, apiKey: GatewayBinary.providerKey),
            ]) { mocks in
                let (openai, anthropic, gemini) = (mocks[0], mocks[1], mocks[2])
                var virtualKey = ""
                try await withGatewayProcess { directory, socket in
                    """
                    listen: { socket: \(socket), max_body_bytes: 1MiB }
                    state: { path: \(directory.path)/state }
                    auth: { mode: keys }
                    providers:
                      mock: { kind: openai, base_url: "\(openai.baseURL)", api_key: "env:LLMGW_E2E_KEY" }
                      claude: { kind: anthropic, base_url: "\(anthropic.baseURL)", api_key: "env:LLMGW_E2E_KEY" }
                      gem: { kind: gemini, base_url: "\(gemini.baseURL)", api_key: "env:LLMGW_E2E_KEY" }
                    models:
                      - name: smart
                        targets: [{ provider: mock, model: gpt-4o-mini, tpm: 100000, rpm: 100000 }]
                      - name: claude
                        targets: [{ provider: claude, model: claude-sonnet-4-5, tpm: 100000 }]
                      - name: gemini
                        targets: [{ provider: gem, model: gemini-2.5-flash, tpm: 100000 }]
                      - name: embed
                        targets: [{ provider: mock, model: text-embedding-3-small, tpm: 100000 }]
                    """
                } prepare: { gateway in
                    let created = try await gateway.cli([
                        "keys", "create", "--name", "corpus", "--rpm", "100000", "--tpm", "100000000", "--budget-usd",
                        "1000",
                        "--budget-period", "day",
                    ])
                    virtualKey = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                } _: { gateway in
                    let key = virtualKey
                    #expect(key.hasPrefix("sk-llmgw-"))
                    let routes:
                        [(
                            path: String, models: [String], valid: String, fields: [String], integers: [String],
                            numbers: [String]
                        )] =
                            [
                                (
                                    "/v1/chat/completions", ["smart", "claude", "gemini"],
                                    #"{"model":"MODEL","messages":[{"role":"user","content":"hi"}]}"#, Self.chatFields,
                                    Self.chatIntegers, Self.numbers
                                ),
                                (
                                    "/v1/messages", ["claude", "smart", "gemini"],
                                    #"{"model":"MODEL","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}"#,
                                    Self.messagesFields, ["max_tokens", "top_k"], ["temperature", "top_p"]
                                ),
                                (
                                    "/v1/messages/count_tokens", ["claude", "smart"],
                                    #"{"model":"MODEL","messages":[{"role":"user","content":"hi"}]}"#,
                                    ["model", "messages", "system", "tools", "tool_choice", "thinking"], ["max_tokens"],
                                    ["temperature"]
                                ),
                                (
                                    "/v1/embeddings", ["embed"], #"{"model":"MODEL","input":"hi"}"#,
                                    ["model", "input", "stream", "user"], ["dimensions"], []
                                ),
                            ]
                    var sent = 0
                    for route in routes {
                        let anthropicShape = route.path.hasPrefix("/v1/messages")
                        for (modelIndex, model) in route.models.enumerated() {
                            let valid = route.valid.replacingOccurrences(of: "MODEL", with: model)
                            // The valid body itself is answered.
                            let ok = try await gateway.client.send(
                                "POST", route.path, headers: Self.headers(key, anthropic: anthropicShape),
                                body: Array(valid.utf8))
                            #expect(ok.status == 200, "\(route.path) \(model): \(ok.status) \(ok.text.prefix(300))")
                            // What is refused before routing does not depend on the target: the whole corpus
                            // goes to the first model, only what may reach a provider to the translated ones.
                            let corpus = Self.corpus(
                                valid: valid, fields: route.fields, integerFields: route.integers,
                                numberFields: route.numbers
                            ).filter { modelIndex == 0 || $0.expectation == .answerOrClientError }
                            for item in corpus {
                                let response = try await gateway.client.send(
                                    "POST", route.path, headers: Self.headers(key, anthropic: anthropicShape),
                                    body: item.body)
                                sent += 1
                                let where_ = "\(route.path) \(model) \(item.label)"
                                Self.check(response, item.expectation, anthropicShape: anthropicShape, where_)
                                guard gateway.isRunning else {
                                    Issue.record("llmgw died on \(where_): \(gateway.stderr().suffix(2000))")
                                    return
                                }
                            }
                        }
                    }
                    #expect(sent > 1000)
                    // Still up and still answering.
                    let after = try await gateway.client.send(
                        "POST", "/v1/chat/completions", headers: Self.headers(key, anthropic: false),
                        body: Array(String.chatRequest(model: "smart").utf8))
                    #expect(after.status == 200)
                    #expect(gateway.isRunning)
                }
            }
        }
    }

    static func headers(_ key: String, anthropic: Bool) -> [(String, String)] {
        var headers = [("content-type", "application/json"), ("authorization", "Bearer \(key)")]
        if anthropic { headers.append(("anthropic-version", "2023-06-01")) }
        return headers
    }

    static func check(
        _ response: HTTPResponse, _ expectation: Expectation, anthropicShape: Bool, _ label: String
    ) {
        switch expectation {
        case .clientError:
            #expect((400..<500).contains(response.status), "\(label): \(response.status) \(response.text.prefix(300))")
        case .answerOrClientError:
            #expect(
                (200..<300).contains(response.status) || (400..<500).contains(response.status),
                "\(label): \(response.status) \(response.text.prefix(300))")
        }
        guard !(200..<300).contains(response.status) else { return }
        let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        let error = json?["error"] as? [String: Any]
        if anthropicShape {
            #expect(
                json?["type"] as? String == "error",
                "\(label): not Anthropic's error shape: \(response.text.prefix(300))")
            #expect(error?["type"] is String && error?["message"] is String, "\(label): \(response.text.prefix(300))")
        } else {
            #expect(
                error.map { e in ["message", "type", "param", "code"].allSatisfy { e.keys.contains($0) } } == true,
                "\(label): not OpenAI's error shape: \(response.text.prefix(300))")
        }
        #expect(!response.text.contains(GatewayBinary.providerKey))
    }
}

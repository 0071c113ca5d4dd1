import Foundation
import MockProvider
import Testing

/// What the real Gemini API rejects, the mock rejects, as `google.rpc.Status`; auth and faults likewise.
@Suite(.timeLimit(.minutes(1))) struct GeminiMockStrictnessTests {
    static let user = #"{"role":"user","parts":[{"text":"Hi"}]}"#
    static let call = #"{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]}"#

    static func contents(_ list: String, extra: String = "") -> String {
        #"{"contents":[\#(list)]\#(extra)}"#
    }

    static let rejected: [(body: String, message: String)] = [
        (contents(""), "contents is not specified"),
        (#"{"messages":[]}"#, "Unknown name \"messages\""),
        (contents(#"{"role":"assistant","parts":[{"text":"Hi"}]}"#), "valid role: user, model"),
        (contents(#"{"role":"system","parts":[{"text":"Hi"}]}"#), "valid role: user, model"),
        (contents(#"{"role":"user","parts":[]}"#), "parts must not be empty"),
        (contents(#"{"role":"user","content":"Hi"}"#), "Unknown name \"content\""),
        (contents(#"{"role":"user","parts":[{"type":"text","text":"Hi"}]}"#), "Unknown name \"type\""),
        (contents(#"{"role":"user","parts":[{"thought":true}]}"#), "required oneof field 'data'"),
        (contents(#"{"role":"user","parts":[{"inlineData":{"data":"aGk="}}]}"#), "mime_type is not specified"),
        (contents("\(user),\(call),\(user)"), "number of function response parts"),
        (
            contents(#"\#(user),{"role":"user","parts":[{"functionResponse":{"name":"f","response":{}}}]}"#),
            "function response turn comes immediately after a function call turn"
        ),
        (
            contents(#"\#(user),\#(call),{"role":"user","parts":[{"functionResponse":{"name":"f","response":"ok"}}]}"#),
            "function_response.response"
        ),
        (contents(user, extra: #","systemInstruction":"Be terse""#), "system_instruction"),
        (contents(user, extra: #","generationConfig":{"max_tokens":5}"#), "Unknown name \"max_tokens\""),
        (
            contents(user, extra: #","tools":[{"type":"function","function":{"name":"f"}}]"#),
            "Unknown name \"function\""
        ),
        (contents(user, extra: #","tools":[{"functionDeclarations":[{"description":"x"}]}]"#), "Name cannot be empty"),
        (
            contents(user, extra: #","toolConfig":{"functionCallingConfig":{"mode":"auto"}}"#),
            "function_calling_config.mode"
        ),
        ("not json", "Invalid JSON payload"),
    ]

    @Test(arguments: rejected.indices)
    func invalidRequestsGet400InvalidArgument(index: Int) async throws {
        let (body, message) = Self.rejected[index]
        try await withDialectMock(.gemini) { mock in
            let response = try await GeminiMockResponderTests.generate(mock, body)
            #expect(response.status == 400, "\(body)")
            let status = try GeminiMockResponderTests.status(response)
            #expect(status.status == "INVALID_ARGUMENT")
            #expect(status.message.contains(message), "\(status.message)")
        }
    }

    @Test func gemini3RefusesAFunctionCallThatLostItsThoughtSignature() async throws {
        let tools = #","tools":[{"functionDeclarations":[{"name":"f"}]}]"#
        let result = #"{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"result":"ok"}}}]}"#
        let signed = #"{"role":"model","parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"CiQB"}]}"#
        try await withDialectMock(.gemini) { mock in
            let first = try await GeminiMockResponderTests.generate(
                mock, Self.contents(Self.user, extra: tools), model: "gemini-3-pro-preview")
            #expect(first.status == 200, "\(first.text)")
            #expect(first.text.contains("thoughtSignature"), "Gemini 3 signs its function calls")
            let unsigned = try await GeminiMockResponderTests.generate(
                mock, Self.contents("\(Self.user),\(Self.call),\(result)", extra: tools), model: "gemini-3-pro-preview")
            #expect(unsigned.status == 400)
            #expect(try GeminiMockResponderTests.status(unsigned).message.contains("missing a thought_signature"))
            let carried = try await GeminiMockResponderTests.generate(
                mock, Self.contents("\(Self.user),\(signed),\(result)", extra: tools), model: "gemini-3-pro-preview")
            #expect(carried.status == 200, "\(carried.text)")
            // Gemini 2.5 does not insist.
            let older = try await GeminiMockResponderTests.generate(
                mock, Self.contents("\(Self.user),\(Self.call),\(result)", extra: tools))
            #expect(older.status == 200, "\(older.text)")
        }
    }

    @Test func validSnakeCaseAndSystemInstructionPass() async throws {
        let body = Self.contents(
            #"{"parts":[{"text":"Hi"},{"inline_data":{"mime_type":"image/png","data":"iVBORw0KGgo="}}]}"#,
            extra: #","system_instruction":{"parts":[{"text":"Be terse"}]},"generationConfig":{"temperature":0.2}"#
        )
        try await withDialectMock(.gemini) { mock in
            let response = try await GeminiMockResponderTests.generate(mock, body)
            #expect(response.status == 200, "\(response.text)")
        }
    }

    @Test func pathsMethodsAndModels() async throws {
        try await withDialectMock(.gemini) { mock in
            let body = GeminiMockResponderTests.body()
            let wrongMethod = try await exchange(
                mock, "GET", "/v1beta/models/gemini-2.5-flash:generateContent", key: nil,
                headers: GeminiMockResponderTests.auth)
            #expect(wrongMethod.status == 404)
            let wrongPath = try await exchange(
                mock, "POST", "/v1/chat/completions", body: body, key: nil, headers: GeminiMockResponderTests.auth)
            #expect(wrongPath.status == 404)
            #expect(try GeminiMockResponderTests.status(wrongPath).status == "NOT_FOUND")
            let unknownModel = try await GeminiMockResponderTests.generate(mock, body, model: "gpt-4o")
            #expect(unknownModel.status == 404)
            let list = try await exchange(
                mock, "GET", "/v1beta/models", key: nil, headers: GeminiMockResponderTests.auth)
            #expect((try list.json()["models"] as? [Any])?.isEmpty == false)
        }
    }

    @Test func authenticationFailures() async throws {
        try await withDialectMock(.gemini) { mock in
            let body = GeminiMockResponderTests.body()
            let missing = try await GeminiMockResponderTests.generate(mock, body, headers: [])
            #expect(missing.status == 403)
            #expect(try GeminiMockResponderTests.status(missing).status == "PERMISSION_DENIED")
            let wrong = try await GeminiMockResponderTests.generate(mock, body, headers: [("x-goog-api-key", "nope")])
            #expect(wrong.status == 400)
            #expect(try GeminiMockResponderTests.status(wrong).status == "INVALID_ARGUMENT")
            #expect(wrong.text.contains("\"reason\": \"API_KEY_INVALID\""))
            let bearer = try await GeminiMockResponderTests.generate(
                mock, body, headers: [("authorization", "Bearer sk-test")])
            #expect(bearer.status == 401)
            let query = try await GeminiMockResponderTests.generate(mock, body, query: "key=sk-test", headers: [])
            #expect(query.status == 200)
            let streamQuery = try await GeminiMockResponderTests.generate(
                mock, body, stream: true, query: "key=sk-test", headers: [])
            #expect(streamQuery.status == 200)
        }
    }

    @Test func faultsUseGoogleShapes() async throws {
        try await withDialectMock(.gemini) { mock in
            let body = GeminiMockResponderTests.body("one two three four five six")
            let encoded = try await GeminiMockResponderTests.generate(
                mock, body, model: "gemini-2.5-flash%23status%3D503x1")
            #expect(encoded.status == 503)
            #expect(try GeminiMockResponderTests.status(encoded).status == "UNAVAILABLE")
            let raw = try await GeminiMockResponderTests.generate(
                mock, body, model: "gemini-2.5-flash#status=429x1;retry_after=7")
            #expect(raw.status == 429)
            #expect(try GeminiMockResponderTests.status(raw).status == "RESOURCE_EXHAUSTED")
            #expect(raw.text.contains("\"retryDelay\": \"7s\""))

            let cut = try await GeminiMockResponderTests.generate(
                mock, body, model: "gemini-2.5-flash%23cut=2", stream: true)
            #expect(cut.ending == .closed)
            #expect(cut.text.components(separatedBy: "\r\n\r\n").dropLast().count == 2)
            let failed = try await GeminiMockResponderTests.generate(
                mock, body, model: "gemini-2.5-flash%23error_event=1", stream: true)
            #expect(failed.ending == .complete)
            let chunks = try GeminiMockResponderTests.chunks(failed.text)
            #expect(chunks.count == 2)
            #expect((chunks.last?["error"] as? [String: Any])?["status"] as? String == "UNAVAILABLE")
        }
    }
}

import Foundation
import GatewayTesting
import MockProvider
import Testing

/// The Gemini dialect over a real socket: shapes, SSE framing (CRLF), function calls, content filters.
@Suite(.timeLimit(.minutes(1))) struct GeminiMockResponderTests {
    static let auth = [("x-goog-api-key", "sk-test")]
    static let tools =
        #","tools":[{"functionDeclarations":[{"name":"get_weather","description":"Current weather","#
        + #""parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]}]"#

    static func body(_ text: String = "Hello there", extra: String = "") -> String {
        #"{"contents":[{"role":"user","parts":[{"text":"\#(text)"}]}]"# + extra + "}"
    }

    static func generate(
        _ mock: MockProviderServer, _ body: String, model: String = "gemini-2.5-flash", stream: Bool = false,
        query: String = "", headers: [(String, String)] = auth
    ) async throws -> HTTPResponse {
        let path =
            "/v1beta/models/\(model):" + (stream ? "streamGenerateContent?alt=sse" : "generateContent")
            + (query.isEmpty ? "" : (stream ? "&" : "?") + query)
        return try await exchange(mock, "POST", path, body: body, key: nil, headers: headers)
    }

    static func status(_ response: HTTPResponse) throws -> (status: String?, message: String) {
        let error = try #require(try response.json()["error"] as? [String: Any])
        #expect(error["code"] as? Int == response.status)
        return (error["status"] as? String, error["message"] as? String ?? "")
    }

    /// The SSE payloads of a CRLF stream; every event must end in `\r\n\r\n`.
    static func chunks(_ text: String) throws -> [[String: Any]] {
        #expect(text.hasSuffix("\r\n\r\n"))
        let raw = text.components(separatedBy: "\r\n\r\n").dropLast()
        #expect(raw.allSatisfy { $0.hasPrefix("data: ") && !$0.contains("\n") && !$0.contains("\r") })
        return try raw.map { try parse(String($0.dropFirst(6))) }
    }

    @Test func nonStreamResponseHasTheDocumentedShape() async throws {
        try await withDialectMock(.gemini) { mock in
            #expect(mock.baseURL == "http://127.0.0.1:\(mock.port ?? 0)")
            let response = try await Self.generate(mock, Self.body("What is up"))
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json; charset=UTF-8")
            #expect(response.text.hasPrefix("{\n  \"candidates\": [\n"))
            let json = try response.json()
            let candidate = try #require((json["candidates"] as? [[String: Any]])?.first)
            #expect(candidate["finishReason"] as? String == "STOP")
            #expect(candidate["index"] as? Int == 0)
            let content = try #require(candidate["content"] as? [String: Any])
            #expect(content["role"] as? String == "model")
            #expect((content["parts"] as? [[String: Any]])?.first?["text"] as? String == "Hello! You said: What is up")
            let usage = try #require(json["usageMetadata"] as? [String: Any])
            let prompt = try #require(usage["promptTokenCount"] as? Int)
            #expect(usage["candidatesTokenCount"] as? Int == 6)
            #expect(usage["totalTokenCount"] as? Int == prompt + 6)
            #expect(usage["thoughtsTokenCount"] == nil)
            #expect(json["modelVersion"] as? String == "gemini-2.5-flash")
            #expect((json["responseId"] as? String)?.isEmpty == false)

            let thinking = try await Self.generate(
                mock, Self.body("Hi", extra: #","generationConfig":{"thinkingConfig":{"thinkingBudget":512}}"#))
            let thinkingUsage = try #require(try thinking.json()["usageMetadata"] as? [String: Any])
            let thoughts = try #require(thinkingUsage["thoughtsTokenCount"] as? Int)
            #expect(
                thinkingUsage["totalTokenCount"] as? Int
                    == (thinkingUsage["promptTokenCount"] as? Int ?? 0)
                    + (thinkingUsage["candidatesTokenCount"] as? Int ?? 0) + thoughts)
        }
    }

    @Test func streamIsCRLFFramedChunksWithRunningUsageAndNoTerminator() async throws {
        try await withDialectMock(.gemini) { mock in
            let response = try await Self.generate(mock, Self.body("Stream me please"), stream: true)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream")
            #expect(response.chunked && response.ending == .complete)
            let chunks = try Self.chunks(response.text)
            #expect(chunks.count >= 3)
            #expect(!response.text.contains("[DONE]") && !response.text.contains("event:"))
            let candidates = chunks.compactMap { ($0["candidates"] as? [[String: Any]])?.first }
            let texts = candidates.compactMap {
                (($0["content"] as? [String: Any])?["parts"] as? [[String: Any]])?.first?["text"] as? String
            }
            #expect(texts.joined() == "Hello! You said: Stream me please")
            #expect(candidates.dropLast().allSatisfy { $0["finishReason"] == nil })
            #expect(candidates.last?["finishReason"] as? String == "STOP")
            let counts = chunks.compactMap { ($0["usageMetadata"] as? [String: Any])?["candidatesTokenCount"] as? Int }
            #expect(counts.count == chunks.count && counts == counts.sorted() && counts.last == 6)
            #expect(Set(chunks.compactMap { $0["responseId"] as? String }).count == 1)

            let array = try await exchange(
                mock, "POST", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", body: Self.body(), key: nil,
                headers: Self.auth)
            let parsed = try JSONSerialization.jsonObject(with: Data(array.body)) as? [[String: Any]]
            #expect((parsed?.count ?? 0) >= 2)
        }
    }

    @Test func lineEndingIsAnOption() async throws {
        try await withDialectMock(.gemini, configure: { $0.geminiCRLF = false }) { mock in
            let text = try await Self.generate(mock, Self.body(), stream: true).text
            #expect(!text.contains("\r") && text.hasSuffix("}\n\n"))
        }
    }

    @Test func functionCallRoundTrip() async throws {
        try await withDialectMock(.gemini) { mock in
            let call = try await Self.generate(mock, Self.body("Weather in Paris?", extra: Self.tools))
            let candidate = try #require((try call.json()["candidates"] as? [[String: Any]])?.first)
            #expect(candidate["finishReason"] as? String == "STOP")
            let part = try #require(
                ((candidate["content"] as? [String: Any])?["parts"] as? [[String: Any]])?.first)
            let function = try #require(part["functionCall"] as? [String: Any])
            #expect(function["name"] as? String == "get_weather")
            #expect(function["id"] == nil)
            #expect((function["args"] as? [String: Any])?["city"] as? String == "Paris")

            let stream = try Self.chunks(
                try await Self.generate(mock, Self.body("Weather?", extra: Self.tools), stream: true).text)
            #expect(stream.count == 1)
            #expect(
                "\(stream[0])".contains("functionCall") && "\(stream[0])".contains("STOP"))

            let followUp =
                #"{"contents":[{"role":"user","parts":[{"text":"Weather?"}]},{"role":"model","parts":["#
                + #"{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}}]},{"role":"user","parts":["#
                + #"{"functionResponse":{"name":"get_weather","response":{"result":"18C, cloudy"}}}]}]"#
                + Self.tools + "}"
            let answer = try await Self.generate(mock, followUp)
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.text.contains("Tool result received: 18C, cloudy"))

            let none = try await Self.generate(
                mock, Self.body("Hi", extra: Self.tools + #","toolConfig":{"functionCallingConfig":{"mode":"NONE"}}"#))
            #expect(!none.text.contains("functionCall"))
        }
    }

    @Test func contentFilterTriggers() async throws {
        try await withDialectMock(.gemini) { mock in
            let blocked = try await Self.generate(mock, Self.body("please BLOCKME now"))
            #expect(blocked.status == 200)
            let json = try blocked.json()
            #expect(json["candidates"] == nil)
            #expect((json["promptFeedback"] as? [String: Any])?["blockReason"] as? String == "SAFETY")
            let unsafe = try await Self.generate(mock, Self.body("something UNSAFE"), stream: true)
            let chunk = try #require(try Self.chunks(unsafe.text).last)
            let candidate = (chunk["candidates"] as? [[String: Any]])?.first
            #expect(candidate?["finishReason"] as? String == "SAFETY")
            #expect(candidate?["content"] == nil)
        }
    }
}

import Foundation
import GatewayTesting
import MockProvider
import Testing

/// The OpenAI dialect over a real socket: shapes, stream framing, tools, embeddings, errors.
@Suite(.timeLimit(.minutes(1))) struct OpenAIMockResponderTests {
    @Test func nonStreamCompletionHasTheDocumentedShape() async throws {
        try await withMock { mock in
            let response = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody("What is up"))
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            for name in [
                "x-request-id", "openai-processing-ms", "x-ratelimit-limit-requests", "x-ratelimit-remaining-tokens",
                "x-ratelimit-reset-requests",
            ] {
                #expect(response.header(name) != nil, "missing header \(name)")
            }
            let json = try response.json()
            #expect((json["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            #expect(json["object"] as? String == "chat.completion")
            #expect(json["created"] is Int)
            #expect(json["model"] as? String == "gpt-4o-mini")
            #expect(json["service_tier"] as? String == "default")
            #expect((json["system_fingerprint"] as? String)?.hasPrefix("fp_") == true)
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            #expect(choice["index"] as? Int == 0)
            #expect(choice["logprobs"] is NSNull)
            #expect(choice["finish_reason"] as? String == "stop")
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == "Hello! You said: What is up")
            #expect(message["refusal"] is NSNull)
            #expect((message["annotations"] as? [Any])?.isEmpty == true)
            let usage = try #require(json["usage"] as? [String: Any])
            let prompt = try #require(usage["prompt_tokens"] as? Int)
            let completion = try #require(usage["completion_tokens"] as? Int)
            #expect(usage["total_tokens"] as? Int == prompt + completion)
            #expect((usage["prompt_tokens_details"] as? [String: Any])?["cached_tokens"] as? Int == 0)
            #expect((usage["completion_tokens_details"] as? [String: Any])?["reasoning_tokens"] as? Int == 0)
        }
    }

    @Test func streamFramingFollowsTheTranscriptRules() async throws {
        try await withMock { mock in
            let body = chatBody("Stream me please", stream: true, includeUsage: true)
            let response = try await exchange(mock, "POST", "/v1/chat/completions", body: body)
            #expect(response.status == 200)
            #expect(response.header("content-type")?.hasPrefix("text/event-stream") == true)
            #expect(response.chunked && response.ending == .complete)
            let text = response.text
            #expect(text.hasSuffix("data: [DONE]\n\n"))
            let raw = text.components(separatedBy: "\n\n").dropLast()
            #expect(raw.allSatisfy { $0.hasPrefix("data: ") && !$0.dropFirst(6).contains("\n") })
            let payloads = events(text)
            #expect(payloads.last == "[DONE]")
            let chunks = try payloads.dropLast().map(parse)
            #expect(payloads.dropLast().allSatisfy { !$0.contains(" \"") && !$0.contains(": ") })
            #expect(Set(chunks.compactMap { $0["id"] as? String }).count == 1)
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            #expect(chunks.allSatisfy { $0.keys.contains("usage") })
            #expect(payloads[0].contains(#""delta":{"role":"assistant","content":"","refusal":null}"#))
            let usageChunk = try #require(chunks.last)
            #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
            #expect((usageChunk["usage"] as? [String: Any])?["total_tokens"] is Int)
            let finish = chunks[chunks.count - 2]
            let finishChoice = try #require((finish["choices"] as? [[String: Any]])?.first)
            #expect(finishChoice["finish_reason"] as? String == "stop")
            #expect((finishChoice["delta"] as? [String: Any])?.isEmpty == true)
            #expect(finish["usage"] is NSNull)
            let content = chunks.dropFirst().compactMap {
                (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String
            }
            #expect(content.count >= 3)
            #expect(content.joined() == "Hello! You said: Stream me please")
        }
    }

    @Test func streamWithoutIncludeUsageHasNoUsageAtAll() async throws {
        try await withMock { mock in
            let response = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody(stream: true))
            let payloads = events(response.text)
            #expect(payloads.last == "[DONE]")
            #expect(!response.text.contains("usage"))
            let chunks = try payloads.dropLast().map(parse)
            #expect(chunks.allSatisfy { ($0["choices"] as? [Any])?.count == 1 })
        }
    }

    @Test func tokenCountsAgreeBetweenStreamAndNonStream() async throws {
        try await withMock { mock in
            let plain = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody("one two, three"))
            let streamed = try await exchange(
                mock, "POST", "/v1/chat/completions", body: chatBody("one two, three", stream: true, includeUsage: true)
            )
            let usage = try plain.json()["usage"] as? [String: Any]
            let streamedUsage = try parse(events(streamed.text).dropLast().last ?? "")["usage"] as? [String: Any]
            #expect(usage?["prompt_tokens"] as? Int == streamedUsage?["prompt_tokens"] as? Int)
            #expect(usage?["completion_tokens"] as? Int == streamedUsage?["completion_tokens"] as? Int)
        }
    }

    static let tools =
        #","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","#
        + #""properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}}}]"#

    @Test func toolCallAnswerCallsTheFirstTool() async throws {
        try await withMock { mock in
            let response = try await exchange(
                mock, "POST", "/v1/chat/completions", body: chatBody("Weather?", extra: Self.tools)
            )
            let choice = try #require((try response.json()["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "tool_calls")
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["content"] is NSNull)
            let call = try #require((message["tool_calls"] as? [[String: Any]])?.first)
            #expect((call["id"] as? String)?.hasPrefix("call_") == true)
            #expect(call["type"] as? String == "function")
            let function = try #require(call["function"] as? [String: Any])
            #expect(function["name"] as? String == "get_weather")
            #expect(function["arguments"] as? String == #"{"city":"Paris","days":1}"#)
        }
    }

    @Test func toolCallStreamsFragmentsByIndex() async throws {
        try await withMock { mock in
            let body = chatBody("Weather?", stream: true, extra: Self.tools + #","tool_choice":"required""#)
            let response = try await exchange(mock, "POST", "/v1/chat/completions", body: body)
            let payloads = events(response.text)
            #expect(payloads.last == "[DONE]")
            let deltas = try payloads.dropLast().map {
                try #require(((try parse($0))["choices"] as? [[String: Any]])?.first)
            }
            let first = try #require(deltas.first?["delta"] as? [String: Any])
            #expect(first["role"] as? String == "assistant")
            #expect(first["content"] is NSNull)
            let opening = try #require((first["tool_calls"] as? [[String: Any]])?.first)
            #expect(opening["index"] as? Int == 0)
            #expect((opening["id"] as? String)?.hasPrefix("call_") == true)
            #expect((opening["function"] as? [String: Any])?["arguments"] as? String == "")
            let fragments = deltas.dropFirst().dropLast().compactMap {
                (($0["delta"] as? [String: Any])?["tool_calls"] as? [[String: Any]])?.first
            }
            #expect(fragments.count >= 2)
            #expect(fragments.allSatisfy { $0["id"] == nil && $0["index"] as? Int == 0 })
            let arguments = fragments.compactMap { ($0["function"] as? [String: Any])?["arguments"] as? String }
            #expect(arguments.joined() == #"{"city":"Paris","days":1}"#)
            #expect(deltas.last?["finish_reason"] as? String == "tool_calls")
        }
    }

    @Test func toolResultIsQuotedInTheAnswerAndNoneDisablesTools() async throws {
        try await withMock { mock in
            let body =
                #"{"model":"gpt-4o","messages":[{"role":"user","content":"Weather?"},"#
                + #"{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","#
                + #""function":{"name":"get_weather","arguments":"{}"}}]},"#
                + #"{"role":"tool","tool_call_id":"call_1","content":"18C, cloudy"}]"# + Self.tools + "}"
            let response = try await exchange(mock, "POST", "/v1/chat/completions", body: body)
            let message = (try response.json()["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any]
            #expect((message?["content"] as? String)?.contains("18C, cloudy") == true)

            let none = try await exchange(
                mock, "POST", "/v1/chat/completions",
                body: chatBody("Hi", extra: Self.tools + #","tool_choice":"none""#)
            )
            #expect(try none.json()["choices"].map { "\($0)" }?.contains("tool_calls") == false)
        }
    }

    @Test func embeddingsAsFloatsAndBase64AreTheSameVector() async throws {
        try await withMock { mock in
            let floats = try await exchange(
                mock, "POST", "/v1/embeddings", body: #"{"model":"text-embedding-3-small","input":["hello","world"]}"#
            )
            let json = try floats.json()
            #expect(json["object"] as? String == "list")
            let data = try #require(json["data"] as? [[String: Any]])
            #expect(data.count == 2)
            #expect(data[1]["index"] as? Int == 1)
            let vector = try #require(data[0]["embedding"] as? [Double])
            #expect(vector.count == 8)
            #expect(abs(vector.reduce(0) { $0 + $1 * $1 } - 1) < 1e-3)
            #expect((json["usage"] as? [String: Any])?["prompt_tokens"] as? Int == 2)

            let base64 = try await exchange(
                mock, "POST", "/v1/embeddings",
                body: #"{"model":"text-embedding-3-small","input":"hello","encoding_format":"base64"}"#
            )
            let encoded = try #require(
                ((try base64.json()["data"] as? [[String: Any]])?.first)?["embedding"] as? String)
            let bytes = try #require(Data(base64Encoded: encoded))
            #expect(bytes.count == 32)
            let decoded = stride(from: 0, to: bytes.count, by: 4).map { offset in
                Float(bitPattern: bytes[offset..<offset + 4].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            }
            #expect(zip(decoded, vector).allSatisfy { abs(Double($0) - $1) < 1e-6 })
        }
    }

    @Test func modelsListAndRetrieve() async throws {
        try await withMock { mock in
            let list = try await exchange(mock, "GET", "/v1/models")
            let json = try list.json()
            #expect(json["object"] as? String == "list")
            let ids = (json["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
            #expect(ids.contains("gpt-4o-mini"))
            let missing = try await exchange(mock, "GET", "/v1/models/no-such-model")
            #expect(missing.status == 404)
            #expect(try errorObject(missing)["code"] as? String == "model_not_found")
        }
    }

    @Test func authenticationErrorsUseTheOpenAIShape() async throws {
        try await withMock { mock in
            let missing = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody(), key: nil)
            #expect(missing.status == 401)
            let error = try errorObject(missing)
            #expect(error["type"] as? String == "invalid_request_error")
            #expect(error["code"] as? String == "invalid_api_key")
            #expect(error.keys.sorted() == ["code", "message", "param", "type"])

            let wrongKey = "sk-wrong-key-0123456789-secret"
            let wrong = try await exchange(mock, "POST", "/v1/chat/completions", body: chatBody(), key: wrongKey)
            #expect(wrong.status == 401)
            #expect(!wrong.text.contains(wrongKey))
            #expect(try errorObject(wrong)["message"].map { "\($0)" }?.contains("sk-w") == true)
        }
    }

    @Test(arguments: [
        ("{not json", "JSON", nil as String?),
        (#"{"messages":[{"role":"user","content":"x"}]}"#, "model", nil),
        (#"{"model":"gpt-4o"}"#, "messages", "messages"),
        (#"{"model":"gpt-4o","messages":[]}"#, "empty", "messages"),
        (
            #"{"model":"gpt-4o","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}"#,
            "stream", "stream_options"
        ),
    ])
    func invalidRequestsAre400(body: String, messageFragment: String, param: String?) async throws {
        try await withMock { mock in
            let response = try await exchange(mock, "POST", "/v1/chat/completions", body: body)
            #expect(response.status == 400)
            let error = try errorObject(response)
            #expect(error["type"] as? String == "invalid_request_error")
            #expect((error["message"] as? String)?.contains(messageFragment) == true)
            #expect(error["param"] as? String == param)
        }
    }

    @Test func unknownPathIs404() async throws {
        try await withMock { mock in
            let response = try await exchange(mock, "POST", "/v1/nothing-here", body: "{}")
            #expect(response.status == 404)
            #expect(try errorObject(response)["message"] as? String == "Invalid URL (POST /v1/nothing-here)")
        }
    }
}

func errorObject(_ response: HTTPResponse) throws -> [String: Any] {
    try #require(try response.json()["error"] as? [String: Any])
}

extension OpenAIMockResponderTests {
    @Test func expectContinueIsAnsweredAtOnce() async throws {
        try await withMock { mock in
            let long = String(repeating: "word ", count: 600)
            let (interimStatus, response) = try await blocking { () -> (Int, HTTPResponse) in
                let connection = try RawConnection(server: mock)
                let body = chatBody(long)
                try connection.send(
                    "POST", "/v1/chat/completions",
                    headers: [
                        ("content-type", "application/json"), ("content-length", "\(body.utf8.count)"),
                        ("expect", "100-continue"),
                    ])
                // The interim answer comes before any body byte is sent (no client-side wait).
                let interim = try connection.readResponse()
                guard interim.status == 100 else { return (interim.status, interim) }
                try connection.write(body)
                return (100, try connection.readResponse())
            }
            #expect(interimStatus == 100)
            #expect(response.status == 200)
        }
    }
}

import GatewayCore
import GatewayTesting
import Pipeline
import Testing

/// An Anthropic-dialect client (`/v1/messages`, `/v1/messages/count_tokens`) in process: to an
/// OpenAI target through the canonical model, to an Anthropic target byte for byte.
@Suite struct MessagesFrontTests {
    typealias Paths = TranslatedPaths

    // MARK: To an OpenAI target

    @Test func aMessagesRequestToAnOpenAITargetIsTranslatedBothWays() async throws {
        let gateway = try Paths.harness("http://openai", answering: "openai/chat_response.json")
        let reply = await gateway.send(try Paths.messagesRequest(model: "smart", stream: false), to: "/v1/messages")

        let sent = try #require(gateway.transport.requests.first)
        #expect(sent.url == "http://openai/v1/chat/completions")
        Paths.expectKey(sent, in: "authorization", of: "openai", scheme: "Bearer ")
        let body = try WireJSON.object(sent.body)
        #expect(body["model"] as? String == "gpt-4o-mini")
        let messages = try #require(body["messages"] as? [[String: Any]])
        #expect(messages.first?["role"] as? String == "system")
        #expect(messages.map { $0["role"] as? String } == ["system", "user", "assistant", "tool"])
        let call = try #require((messages[2]["tool_calls"] as? [[String: Any]])?.first)
        #expect(call["id"] as? String == "toolu_01A")
        #expect((call["function"] as? [String: Any])?["arguments"] as? String == #"{"city":"Paris"}"#)
        #expect(messages[3]["tool_call_id"] as? String == "toolu_01A")

        #expect(reply.status == 200)
        let answer = try WireJSON.object(reply.bodyBytes)
        #expect(answer["type"] as? String == "message")
        #expect(answer["role"] as? String == "assistant")
        #expect(answer["stop_reason"] as? String == "tool_use")
        let content = try #require(answer["content"] as? [[String: Any]])
        #expect(content.map { $0["type"] as? String } == ["tool_use"])
        #expect(content.first?["id"] as? String == "call_Ra41")
        #expect(content.first?["name"] as? String == "get_weather")
        #expect((content.first?["input"] as? [String: Any])?["city"] as? String == "Rome")
        let usage = try #require(answer["usage"] as? [String: Any])
        #expect(usage["output_tokens"] as? Int == 17)
        Paths.expectUsage(reply, prompt: 82, completion: 17)
    }

    @Test(arguments: [1, 13, 4096])
    func anOpenAIStreamReachesAMessagesClientAsAnthropicEventsInOrder(chunkSize: Int) async throws {
        let gateway = Paths.harness([
            "http://openai": [.eventStream(try WireFixture.bytes("openai/stream_text.sse"), chunkSize: chunkSize)]
        ])
        let reply = await gateway.send(try Paths.messagesRequest(model: "smart", stream: true), to: "/v1/messages")

        let sent = try WireJSON.object(try #require(gateway.transport.requests.first).body)
        #expect(sent["stream"] as? Bool == true)
        // The gateway asks for the usage chunk: it is how it learns what the stream cost.
        #expect((sent["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)

        #expect(reply.status == 200)
        #expect(reply.writer.streamed)
        let events = ServerSentEvent.parse(reply.bodyBytes)
        #expect(
            events.map(\.name) == [
                "message_start", "content_block_start", "content_block_delta", "content_block_delta",
                "content_block_stop", "message_delta", "message_stop",
            ])
        let texts = events.compactMap { ($0.json?["delta"] as? [String: Any])?["text"] as? String }
        #expect(texts == ["Hello", "!"])
        let delta = try #require(events.first { $0.name == "message_delta" }?.json)
        #expect((delta["delta"] as? [String: Any])?["stop_reason"] as? String == "end_turn")
        #expect((delta["usage"] as? [String: Any])?["output_tokens"] as? Int == 2)
        Paths.expectUsage(reply, prompt: 9, completion: 2)
    }

    // MARK: To an Anthropic target (passthrough)

    @Test func aMessagesRequestToAnAnthropicTargetPassesThroughWithOnlyTheModelRewritten() async throws {
        let answer = try WireFixture.bytes("anthropic/message_response.json")
        let gateway = Paths.harness(["http://claude": [.json(answer)]])
        let request = try Paths.messagesRequest(model: "claude", stream: false)
        let reply = await gateway.send(
            request, to: "/v1/messages",
            headers: [
                ("content-type", "application/json"), ("anthropic-version", "2023-06-01"),
                ("anthropic-beta", "interleaved-thinking-2025-05-14"),
            ])

        let sent = try #require(gateway.transport.requests.first)
        #expect(sent.url == "http://claude/v1/messages")
        Paths.expectKey(sent, in: "x-api-key", of: "claude")
        #expect(sent.header("anthropic-version") == "2023-06-01")
        #expect(sent.header("anthropic-beta") == "interleaved-thinking-2025-05-14")
        #expect(
            sent.bodyText
                == request.replacingOccurrences(of: #""model":"claude""#, with: #""model":"claude-sonnet-4-5""#),
            "the client's bytes, but for the model")

        #expect(reply.status == 200)
        #expect(reply.bodyBytes == answer, "the provider's bytes")
        Paths.expectUsage(reply, prompt: 2520, completion: 89)
    }

    @Test(arguments: [1, 7, 4096])
    func anAnthropicStreamReachesAMessagesClientByteForByte(chunkSize: Int) async throws {
        let transcript = try WireFixture.bytes("anthropic/stream_text.sse")
        let gateway = Paths.harness(["http://claude": [.eventStream(transcript, chunkSize: chunkSize)]])
        let reply = await gateway.send(try Paths.messagesRequest(model: "claude", stream: true), to: "/v1/messages")

        #expect(try #require(gateway.transport.requests.first).header("accept") == "text/event-stream")
        #expect(reply.status == 200)
        #expect(reply.writer.streamed)
        #expect(reply.bodyBytes == transcript)
        #expect(reply.record.outcome == .ok)
        #expect(reply.record.usage?.promptTokens == 16)
        #expect(reply.record.usage?.completionTokens == 2)
    }

    // MARK: count_tokens

    static let countRequest = #"{"model":"claude","messages":[{"role":"user","content":"Hello there"}]}"#

    @Test func countTokensAsksTheAnthropicTargetAndRelaysItsCount() async throws {
        let gateway = Paths.harness(["http://claude": [.json(Array(#"{"input_tokens":1234}"#.utf8))]])
        let reply = await gateway.send(Self.countRequest, to: "/v1/messages/count_tokens")

        let sent = try #require(gateway.transport.requests.first)
        #expect(gateway.transport.requests.count == 1)
        #expect(sent.url == "http://claude/v1/messages/count_tokens")
        Paths.expectKey(sent, in: "x-api-key", of: "claude")
        #expect(
            sent.bodyText
                == Self.countRequest.replacingOccurrences(
                    of: #""model":"claude""#, with: #""model":"claude-sonnet-4-5""#))
        #expect(reply.status == 200)
        #expect(reply.body == #"{"input_tokens":1234}"#)
        #expect(reply.header("x-llmgw-token-count") == nil)
        #expect(reply.record.provider == "claude")
        #expect(reply.record.usage == nil, "counting is not charged")
    }

    @Test func countTokensWithoutAnAnthropicTargetIsEstimatedWithoutAnyRequest() async throws {
        let gateway = Paths.harness([:])
        let reply = await gateway.send(
            Self.countRequest.replacingOccurrences(of: #""model":"claude""#, with: #""model":"smart""#),
            to: "/v1/messages/count_tokens")
        #expect(gateway.transport.requests.isEmpty)
        #expect(reply.status == 200)
        #expect(reply.header("x-llmgw-token-count") == "estimate")
        let count = try #require(try WireJSON.object(reply.bodyBytes)["input_tokens"] as? Int)
        #expect(count >= 1)
    }

    @Test func countTokensRelaysTheProvidersRefusalOfTheRequest() async throws {
        let refusal = try WireFixture.bytes("anthropic/error_invalid_request.json")
        let gateway = Paths.harness(["http://claude": [.json(refusal, status: 400)]])
        let reply = await gateway.send(Self.countRequest, to: "/v1/messages/count_tokens")
        #expect(reply.status == 400)
        #expect(reply.bodyBytes == refusal)
        #expect(reply.record.outcome == .badRequest)
    }

    @Test func countTokensFallsBackToTheEstimateWhenTheProviderFails() async throws {
        let gateway = try Paths.harness("http://claude", answering: "anthropic/error_overloaded.json", status: 529)
        let reply = await gateway.send(Self.countRequest, to: "/v1/messages/count_tokens")
        #expect(gateway.transport.requests.count == 1)
        #expect(reply.status == 200)
        #expect(reply.header("x-llmgw-token-count") == "estimate")
        #expect(reply.record.attempts.map(\.status) == [529])
        #expect(reply.record.attempts.first?.error == "HTTP 529")
    }
}

import GatewayCore
import GatewayTesting
import Pipeline
import Testing

/// Provider errors on translated paths, in process: a refusal of the request itself is relayed
/// in the client's dialect; rate limits and server errors fail over, and when nothing is left the
/// client gets a 502 in its own dialect naming each attempt.
@Suite struct ProviderErrorTests {
    typealias Paths = TranslatedPaths

    /// The client's error in OpenAI's shape: `{"error":{"message","type","param","code"}}`.
    private func openAIError(_ reply: PipelineReply) throws -> [String: Any] {
        let error = try #require(try WireJSON.object(reply.bodyBytes)["error"] as? [String: Any])
        #expect(error.keys.contains("param") && error.keys.contains("code"))
        return error
    }

    /// The client's error in Anthropic's shape: `{"type":"error","error":{"type","message"}}`.
    private func anthropicError(_ reply: PipelineReply) throws -> [String: Any] {
        let json = try WireJSON.object(reply.bodyBytes)
        #expect(json["type"] as? String == "error")
        return try #require(json["error"] as? [String: Any])
    }

    /// `AttemptRecord.status` is the provider's HTTP status, also for a translated target (whose
    /// canonical error may carry another: Anthropic's 529 and 500 both map to 503).
    private func expectProviderStatuses(
        _ record: AccessRecord, _ statuses: [Int], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(record.attempts.map(\.status) == statuses, sourceLocation: sourceLocation)
    }

    @Test func anAnthropic400ReachesAnOpenAIClientAsAnOpenAIError() async throws {
        let gateway = try Paths.harness("http://claude", answering: "anthropic/error_invalid_request.json", status: 400)
        let reply = await gateway.send(try Paths.chatRequest(model: "claude", stream: false))
        #expect(reply.status == 400)
        let error = try openAIError(reply)
        #expect(error["message"] as? String == "max_tokens: Field required")
        #expect(error["type"] as? String == "invalid_request_error")
        #expect(gateway.transport.requests.count == 1, "the client's fault: no retry, no failover")
        #expect(reply.record.outcome == .badRequest)
        #expect(reply.record.attempts.map(\.status) == [400])
        Paths.expectNoKeys(in: reply)
    }

    @Test func aGemini400ReachesAnOpenAIClientAsAnOpenAIError() async throws {
        let gateway = try Paths.harness("http://gem", answering: "gemini/error_invalid_argument.json", status: 400)
        let reply = await gateway.send(try Paths.chatRequest(model: "gemini", stream: true))
        #expect(reply.status == 400)
        #expect(!reply.writer.streamed, "an error before the stream starts is a plain JSON answer")
        let error = try openAIError(reply)
        #expect((error["message"] as? String)?.hasPrefix("Invalid JSON payload received.") == true)
        #expect(error["type"] as? String == "invalid_request_error")
        #expect(gateway.transport.requests.count == 1)
    }

    @Test func anOpenAI400ReachesAMessagesClientAsAnAnthropicError() async throws {
        let gateway = try Paths.harness("http://openai", answering: "openai/error_invalid_request.json", status: 400)
        let reply = await gateway.send(try Paths.messagesRequest(model: "smart", stream: false), to: "/v1/messages")
        #expect(reply.status == 400)
        let error = try anthropicError(reply)
        #expect(error["type"] as? String == "invalid_request_error")
        #expect(error["message"] as? String == "Invalid value for 'temperature': expected a number between 0 and 2.")
        #expect(gateway.transport.requests.count == 1)
    }

    @Test func anAnthropic400ReachesAMessagesClientAsTheProviderWroteIt() async throws {
        let refusal = try WireFixture.bytes("anthropic/error_invalid_request.json")
        let gateway = Paths.harness(["http://claude": [.json(refusal, status: 400)]])
        let reply = await gateway.send(try Paths.messagesRequest(model: "claude", stream: false), to: "/v1/messages")
        #expect(reply.status == 400)
        #expect(reply.bodyBytes == refusal)
    }

    @Test func anAnthropic429WithALongRetryAfterFailsOverAtOnce() async throws {
        let gateway = Paths.harness([
            "http://claude": [
                .response(
                    status: 429, headers: [("content-type", "application/json"), ("retry-after", "120")],
                    body: try WireFixture.bytes("anthropic/error_rate_limit.json"))
            ],
            "http://openai": [.json(try WireFixture.bytes("openai/chat_response.json"))],
        ])
        let reply = await gateway.send(try Paths.chatRequest(model: "claude-first", stream: false))
        #expect(reply.status == 200)
        #expect(reply.header("x-llmgw-provider") == "openai")
        #expect(reply.record.attempts.map(\.target) == ["claude/claude-sonnet-4-5", "openai/gpt-4o-mini"])
        #expect(reply.record.attempts.map(\.status) == [429, 200])
        #expect(reply.record.attempts.first?.error?.contains("rate limit") == true)
    }

    @Test func aGemini429OnTheOnlyTargetIsA502InTheClientsDialectNamingTheAttempt() async throws {
        // RetryInfo asks for 47 s, beyond the retry-after cap: no second try on that target.
        let gateway = try Paths.harness("http://gem", answering: "gemini/error_rate_limit.json", status: 429)
        let reply = await gateway.send(try Paths.chatRequest(model: "gemini", stream: false))
        #expect(reply.status == 502)
        let error = try openAIError(reply)
        #expect(error["code"] as? String == "upstream_error")
        let message = try #require(error["message"] as? String)
        #expect(message.hasPrefix("The only attempt failed: gem/gemini-2.5-flash: HTTP 429 (You exceeded"))
        #expect(gateway.transport.requests.count == 1)
        #expect(reply.record.outcome == .upstreamError)
        Paths.expectNoKeys(in: reply)
    }

    @Test func anOpenAI429OnTheOnlyTargetReachesAMessagesClientAsAnAnthropicError() async throws {
        let gateway = Paths.harness([:])
        gateway.transport.always(
            .json(try WireFixture.bytes("openai/error_rate_limit.json"), status: 429), for: "http://openai")
        let reply = await gateway.send(try Paths.messagesRequest(model: "smart", stream: false), to: "/v1/messages")
        #expect(reply.status == 502)
        let error = try anthropicError(reply)
        #expect(error["type"] as? String == "api_error")
        let message = try #require(error["message"] as? String)
        // Without a retry-after on the last target, it is tried once more after a backoff.
        #expect(message.hasPrefix("All 2 attempts failed: openai/gpt-4o-mini: HTTP 429 (Rate limit reached"))
        #expect(reply.record.attempts.map(\.status) == [429, 429])
    }

    @Test(arguments: [500, 529])
    func anAnthropicServerErrorIsRetriedThenFailsOverToOpenAI(status: Int) async throws {
        let overloaded = ScriptedAnswer.json(try WireFixture.bytes("anthropic/error_overloaded.json"), status: status)
        let gateway = Paths.harness([
            "http://claude": [overloaded, overloaded],
            "http://openai": [.json(try WireFixture.bytes("openai/chat_response.json"))],
        ])
        let reply = await gateway.send(try Paths.chatRequest(model: "claude-first", stream: false))
        #expect(reply.status == 200)
        #expect(reply.header("x-llmgw-attempts") == "3")
        #expect(reply.record.attempts.map(\.error).prefix(2).allSatisfy { $0?.hasPrefix("HTTP \(status) (") == true })
        expectProviderStatuses(reply.record, [status, status, 200])
        #expect(
            reply.record.attempts.map(\.target) == [
                "claude/claude-sonnet-4-5", "claude/claude-sonnet-4-5", "openai/gpt-4o-mini",
            ])
        #expect(reply.record.provider == "openai")
        // The OpenAI target got the client's own body, only the model rewritten.
        let sent = try #require(gateway.transport.requests(to: "http://openai").first)
        #expect(try WireJSON.object(sent.body)["model"] as? String == "gpt-4o-mini")
        #expect(try WireJSON.object(reply.bodyBytes)["object"] as? String == "chat.completion")
    }

    @Test func aStreamedAnthropicServerErrorBeforeAnyEventFailsOverInvisibly() async throws {
        let overloaded = ScriptedAnswer.json(try WireFixture.bytes("anthropic/error_overloaded.json"), status: 529)
        let gateway = Paths.harness([
            "http://claude": [overloaded, overloaded],
            "http://openai": [.eventStream(try WireFixture.bytes("openai/stream_text.sse"))],
        ])
        let reply = await gateway.send(try Paths.chatRequest(model: "claude-first", stream: true))
        #expect(reply.status == 200)
        expectProviderStatuses(reply.record, [529, 529, 200])
        #expect(reply.body.hasSuffix("data: [DONE]\n\n"))
        #expect(!reply.body.contains("overloaded"))
    }
}

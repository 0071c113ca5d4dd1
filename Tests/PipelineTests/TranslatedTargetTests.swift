import GatewayCore
import GatewayTesting
import Pipeline
import Testing

/// An OpenAI-dialect client (`/v1/chat/completions`) in front of Anthropic, Gemini and Azure
/// targets, in process: what goes upstream (URL, auth header, translated body) and what comes back
/// (the answer or the stream in OpenAI's shape, usage in the access record). Upstream answers are
/// the captured wire bodies of `Tests/DialectsTests/Fixtures`.
@Suite struct TranslatedTargetTests {
    typealias Paths = TranslatedPaths

    // MARK: Anthropic

    @Test func anAnthropicTargetGetsTheTranslatedRequestAndItsAnswerComesBackInOpenAIShape() async throws {
        let gateway = Paths.harness(["http://claude": [.json(try WireFixture.bytes("anthropic/message_response.json"))]]
        )
        let reply = await gateway.send(try Paths.chatRequest(model: "claude", stream: false))

        let sent = try #require(gateway.transport.requests.first)
        #expect(gateway.transport.requests.count == 1)
        #expect(sent.url == "http://claude/v1/messages")
        Paths.expectKey(sent, in: "x-api-key", of: "claude")
        #expect(sent.header("anthropic-version") == "2023-06-01")
        #expect(
            try WireJSON.normalized(sent.body, ignoring: ["model", "stream"])
                == WireJSON.normalized(
                    try WireFixture.bytes("anthropic/messages_request_from_openai.json"), ignoring: ["model", "stream"])
        )
        let sentJSON = try WireJSON.object(sent.body)
        #expect(sentJSON["model"] as? String == "claude-sonnet-4-5")
        #expect(sentJSON["stream"] as? Bool != true)

        #expect(reply.status == 200)
        #expect(reply.header("content-type") == "application/json")
        #expect(
            try WireJSON.normalized(reply.bodyBytes, ignoring: ["id", "created"])
                == WireJSON.normalized(
                    try WireFixture.bytes("openai/chat_response_from_anthropic.json"), ignoring: ["id", "created"]))
        #expect(reply.record.provider == "claude")
        #expect(reply.record.upstreamModel == "claude-sonnet-4-5")
        #expect(reply.record.usage?.promptTokens == 2520)
        #expect(reply.record.usage?.completionTokens == 89)
        #expect(reply.record.usage?.cachedPromptTokens == 2048)
        #expect(reply.record.attempts.map(\.status) == [200])
        Paths.expectNoKeys(in: reply)
    }

    @Test(arguments: [1, 7, 4096])
    func anAnthropicStreamIsRelayedAsOpenAIChunksInOrder(chunkSize: Int) async throws {
        let gateway = Paths.harness([
            "http://claude": [.eventStream(try WireFixture.bytes("anthropic/stream_text.sse"), chunkSize: chunkSize)]
        ])
        let reply = await gateway.send(try Paths.chatRequest(model: "claude", stream: true))

        let sent = try #require(gateway.transport.requests.first)
        #expect(sent.url == "http://claude/v1/messages")
        #expect(sent.header("accept") == "text/event-stream")
        #expect(try WireJSON.object(sent.body)["stream"] as? Bool == true)

        #expect(reply.status == 200)
        #expect(reply.writer.streamed)
        #expect(reply.header("content-type") == "text/event-stream")
        #expect(reply.ended)
        // The client asked for the usage chunk (`stream_options.include_usage`).
        try Paths.expectEvents(reply, equal: "openai/stream_from_anthropic_text_usage.sse")
        let models = ServerSentEvent.parse(reply.bodyBytes).compactMap { $0.json?["model"] as? String }
        #expect(Set(models) == ["claude-sonnet-4-5"])
        #expect(reply.record.outcome == .ok)
        #expect(reply.record.stream)
        Paths.expectUsage(reply, prompt: 16, completion: 2)
    }

    @Test func withoutIncludeUsageTheTranslatedStreamHasNoUsageChunkButTheRecordHasTheUsage() async throws {
        let gateway = Paths.harness([
            "http://claude": [.eventStream(try WireFixture.bytes("anthropic/stream_text.sse"))]
        ])
        let reply = await gateway.send(
            try Paths.chatRequest(model: "claude", stream: true).replacingOccurrences(
                of: #","stream_options":{"include_usage":true}"#, with: ""))
        try Paths.expectEvents(reply, equal: "openai/stream_from_anthropic_text.sse")
        #expect(reply.record.usage?.completionTokens == 2)
    }

    // MARK: Gemini

    @Test func aGeminiTargetGetsTheTranslatedRequestWithTheKeyInAHeaderAndItsAnswerComesBackInOpenAIShape()
        async throws
    {
        let gateway = try Paths.harness("http://gem", answering: "gemini/response.json")
        let reply = await gateway.send(try Paths.chatRequest(model: "gemini", stream: false))

        let sent = try #require(gateway.transport.requests.first)
        #expect(sent.url == "http://gem/v1beta/models/gemini-2.5-flash:generateContent")
        Paths.expectKey(sent, in: "x-goog-api-key", of: "gem")
        #expect(
            try WireJSON.normalized(sent.body)
                == WireJSON.normalized(try WireFixture.bytes("gemini/request_from_openai.json")))

        #expect(reply.status == 200)
        #expect(
            try WireJSON.normalized(reply.bodyBytes, ignoring: ["id", "created"])
                == WireJSON.normalized(
                    try WireFixture.bytes("gemini/openai_response.json"), ignoring: ["id", "created"]))
        #expect(reply.record.provider == "gem")
        #expect(reply.record.usage?.promptTokens == 102)
        #expect(reply.record.usage?.completionTokens == 438)
        #expect(reply.record.usage?.reasoningTokens == 278)
        Paths.expectNoKeys(in: reply)
    }

    @Test(arguments: [1, 9, 4096])
    func aGeminiStreamIsRelayedAsOpenAIChunksInOrder(chunkSize: Int) async throws {
        let gateway = Paths.harness([
            "http://gem": [.eventStream(try WireFixture.bytes("gemini/stream_text.sse"), chunkSize: chunkSize)]
        ])
        let reply = await gateway.send(
            try Paths.chatRequest(model: "gemini", stream: true).replacingOccurrences(
                of: #","stream_options":{"include_usage":true}"#, with: ""))

        let sent = try #require(gateway.transport.requests.first)
        #expect(sent.url == "http://gem/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        Paths.expectKey(sent, in: "x-goog-api-key", of: "gem")

        #expect(reply.status == 200)
        #expect(reply.writer.streamed)
        try Paths.expectEvents(reply, equal: "gemini/openai_stream_text.sse")
        #expect(reply.body.hasSuffix("data: [DONE]\n\n"))
        Paths.expectUsage(reply, prompt: 5, completion: 3)
    }

    // MARK: Azure

    @Test func anAzureTargetGetsItsDeploymentURLAndAPIKeyHeaderAndTheAnswerIsRelayedAsItCame() async throws {
        let answer = try WireFixture.bytes("openai/chat_response_azure.json")
        let gateway = Paths.harness(["http://azure-eu": [.json(answer)]])
        let request = try Paths.chatRequest(model: "azure", stream: false)
        let reply = await gateway.send(request)

        let sent = try #require(gateway.transport.requests.first)
        #expect(sent.url == "http://azure-eu/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21")
        Paths.expectKey(sent, in: "api-key", of: "azure-eu")
        // The OpenAI body passes through; only the model names the deployment.
        #expect(
            try WireJSON.normalized(sent.body, ignoring: ["model"])
                == WireJSON.normalized(request, ignoring: ["model"]))
        #expect(try WireJSON.object(sent.body)["model"] as? String == "gpt4o-prod")

        #expect(reply.status == 200)
        #expect(reply.bodyBytes == answer, "relayed byte for byte, content-filter annotations included")
        #expect(reply.record.provider == "azure-eu")
        #expect(reply.record.usage == TokenUsage(promptTokens: 11, completionTokens: 3))
        // Priced by the model the answer names (a deployment name has no list price).
        #expect(reply.record.costUSD == (11 * 2.50 + 3 * 10.00) / 1_000_000)
        Paths.expectNoKeys(in: reply)
    }

    @Test func anAzureStreamReachesAnOpenAIClientWithoutItsPromptFilterEvent() async throws {
        let transcript = try WireFixture.bytes("openai/stream_azure_prompt_filter.sse")
        let gateway = Paths.harness(["http://azure-eu": [.eventStream(transcript, chunkSize: 11)]])
        let reply = await gateway.send(try Paths.chatRequest(model: "azure", stream: true))

        let sent = try #require(gateway.transport.requests.first)
        #expect(sent.url == "http://azure-eu/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21")
        #expect(sent.header("accept") == "text/event-stream")
        #expect(reply.status == 200)
        // The client asked for usage: every event passes as the provider sent it, except the
        // `choices: []` prompt-filter annotation OpenAI clients cannot index (docs/dialects.md).
        let events = String(decoding: transcript, as: UTF8.self).components(separatedBy: "\n\n")
        #expect(events[0].contains("prompt_filter_results"))
        #expect(reply.bodyBytes == Array(events.dropFirst().joined(separator: "\n\n").utf8))
        Paths.expectNoKeys(in: reply)
    }

    @Test func rawStreamRelaysAnAzureStreamByteForByte() async throws {
        let transcript = try WireFixture.bytes("openai/stream_azure_prompt_filter.sse")
        let gateway = PipelineHarness(
            Paths.configuration(azure: { $0.rawStream = true }), keyring: ProviderKeyring(Paths.keys),
            transport: ScriptedTransport(["http://azure-eu": [.eventStream(transcript, chunkSize: 11)]]))
        let reply = await gateway.send(try Paths.chatRequest(model: "azure", stream: true))
        #expect(reply.status == 200)
        #expect(reply.bodyBytes == transcript)
        Paths.expectNoKeys(in: reply)
    }
}

import GatewayCore
import GatewayTesting
import Testing

@testable import Pipeline

@Suite struct ResponseCacheStageTests {
    /// The cache is on.
    private func harness(_ script: [String: [ScriptedAnswer]]) -> PipelineHarness {
        var configuration = ChatScript.configuration
        configuration.cache.enabled = true
        return PipelineHarness(
            configuration, transport: ScriptedTransport(script), stores: [.keysAndAdmission, .cache])
    }

    /// Primary answers `answers` times (as a stream or JSON).
    private func harness(answers: Int, stream: Bool = false) -> PipelineHarness {
        let answer = ScriptedAnswer.response(
            headers: [("content-type", stream ? "text/event-stream" : "application/json")],
            chunks: stream ? ChatScript.streamChunks : [ChatScript.okBody]
        )
        return harness(["http://primary": Array(repeating: answer, count: answers)])
    }

    private func send(
        _ gateway: PipelineHarness, body: String, headers: [(name: String, value: String)] = []
    ) async -> PipelineReply {
        await gateway.send(body, headers: [("content-type", "application/json")] + headers)
    }

    @Test func aRepeatedRequestIsAnsweredFromTheCache() async throws {
        let gateway = harness(answers: 1)
        let body = #"{"model":"smart","messages":[{"role":"user","content":"same"}]}"#
        let first = await send(gateway, body: body)
        let second = await send(gateway, body: body)
        #expect(first.header("x-llmgw-cache") == "miss")
        #expect(second.header("x-llmgw-cache") == "hit")
        #expect(second.body == first.body)
        #expect(gateway.transport.requests.count == 1)
        #expect(second.record.outcome == .cacheHit)
        #expect(second.record.costUSD == 0)
        #expect(second.record.usage == TokenUsage(promptTokens: 5, completionTokens: 7))
    }

    @Test func aStreamedAnswerIsReplayedAsAStream() async throws {
        let gateway = harness(answers: 1, stream: true)
        let body = #"{"model":"smart","messages":[{"role":"user","content":"s"}],"stream":true}"#
        let first = await send(gateway, body: body)
        let second = await send(gateway, body: body)
        #expect(second.header("x-llmgw-cache") == "hit")
        #expect(second.header("content-type") == "text/event-stream")
        #expect(second.body == first.body)
        #expect(second.body.hasSuffix("data: [DONE]\n\n"))
        #expect(gateway.transport.requests.count == 1)
    }

    @Test func noStoreBypassesAndNoCacheRefreshes() async throws {
        let gateway = harness(answers: 3)
        let body = #"{"model":"smart","messages":[{"role":"user","content":"d"}]}"#
        #expect(
            await send(gateway, body: body, headers: [("x-llmgw-cache", "no-store")]).header("x-llmgw-cache")
                == "bypass")
        #expect(
            await send(gateway, body: body, headers: [("x-llmgw-cache", "no-cache")]).header("x-llmgw-cache") == "miss")
        #expect(await send(gateway, body: body).header("x-llmgw-cache") == "hit")
        #expect(gateway.transport.requests.count == 2)
    }

    @Test func errorsAndCutStreamsAreNeverStored() async throws {
        let gateway = harness([
            "http://primary": [
                .response(chunks: Array(ChatScript.streamChunks.prefix(2))), .response(chunks: ChatScript.streamChunks),
            ]
        ])
        let body = #"{"model":"smart","messages":[{"role":"user","content":"c"}],"stream":true}"#
        _ = await send(gateway, body: body)
        #expect(await send(gateway, body: body).header("x-llmgw-cache") == "miss")
    }

    @Test func callersHaveTheirOwnNamespaceUnlessShared() async throws {
        let gateway = harness(answers: 2)
        let body = #"{"model":"smart","messages":[{"role":"user","content":"n"}]}"#
        _ = await gateway.send(body, headers: [], peer: .init(pid: 1, uid: 1000, gid: 1000))
        let second = await gateway.send(body, headers: [], peer: .init(pid: 2, uid: 1001, gid: 1001))
        #expect(second.header("x-llmgw-cache") == "miss")
        #expect(gateway.transport.requests.count == 2)
    }
}

import GatewayCore
import Logging
import Testing

@testable import Pipeline

@Suite struct ResponseCacheStageTests {
    let cache = InMemoryResponseCache()

    private func pipeline(_ transport: ScriptedTransport, log: MemoryAccessLog) -> RequestPipeline {
        var configuration = RequestPipelineTests.configuration
        configuration.cache.enabled = true
        return RequestPipeline(
            configuration: configuration,
            keyring: ProviderKeyring(),
            transport: transport,
            accessLog: log,
            logger: Logger(label: "test"),
            state: SharedState(keys: InMemoryKeyStore(), admission: InMemoryAdmissionStore(), cache: cache)
        )
    }

    private func send(
        _ pipeline: RequestPipeline,
        body: String,
        headers: [(name: String, value: String)] = []
    ) async -> RecordingWriter {
        let writer = RecordingWriter()
        await pipeline.handle(
            GatewayRequest(
                method: "POST",
                path: "/v1/chat/completions",
                headers: [("content-type", "application/json")] + headers,
                body: Array(body.utf8)
            ),
            writer: writer
        )
        return writer
    }

    static func transport(_ answers: Int, stream: Bool = false) -> ScriptedTransport {
        ScriptedTransport([
            "http://primary": (0..<answers).map { _ in
                .response(
                    status: 200,
                    headers: [("content-type", stream ? "text/event-stream" : "application/json")],
                    body: ScriptedBody(stream ? RequestPipelineTests.streamChunks : [RequestPipelineTests.okBody])
                )
            }
        ])
    }

    @Test func aRepeatedRequestIsAnsweredFromTheCache() async throws {
        let transport = Self.transport(1)
        let log = MemoryAccessLog()
        let gateway = pipeline(transport, log: log)
        let body = #"{"model":"smart","messages":[{"role":"user","content":"same"}]}"#
        let first = await send(gateway, body: body)
        let second = await send(gateway, body: body)
        #expect(first.header("x-llmgw-cache") == "miss")
        #expect(second.header("x-llmgw-cache") == "hit")
        #expect(second.body == first.body)
        #expect(transport.requests.count == 1)
        #expect(log.all[1].outcome == .cacheHit)
        #expect(log.all[1].costUSD == 0)
        #expect(log.all[1].usage == TokenUsage(promptTokens: 5, completionTokens: 7))
    }

    @Test func aStreamedAnswerIsReplayedAsAStream() async throws {
        let transport = Self.transport(1, stream: true)
        let gateway = pipeline(transport, log: MemoryAccessLog())
        let body = #"{"model":"smart","messages":[{"role":"user","content":"s"}],"stream":true}"#
        let first = await send(gateway, body: body)
        let second = await send(gateway, body: body)
        #expect(second.header("x-llmgw-cache") == "hit")
        #expect(second.header("content-type") == "text/event-stream")
        #expect(second.body == first.body)
        #expect(second.body.hasSuffix("data: [DONE]\n\n"))
        #expect(transport.requests.count == 1)
    }

    @Test func noStoreBypassesAndNoCacheRefreshes() async throws {
        let transport = Self.transport(3)
        let gateway = pipeline(transport, log: MemoryAccessLog())
        let body = #"{"model":"smart","messages":[{"role":"user","content":"d"}]}"#
        #expect(
            await send(gateway, body: body, headers: [("x-llmgw-cache", "no-store")]).header("x-llmgw-cache")
                == "bypass")
        #expect(
            await send(gateway, body: body, headers: [("x-llmgw-cache", "no-cache")]).header("x-llmgw-cache") == "miss")
        #expect(await send(gateway, body: body).header("x-llmgw-cache") == "hit")
        #expect(transport.requests.count == 2)
    }

    @Test func errorsAndCutStreamsAreNeverStored() async throws {
        let cut = ScriptedTransport([
            "http://primary": [
                .response(
                    status: 200, headers: [], body: ScriptedBody(Array(RequestPipelineTests.streamChunks.prefix(2)))),
                .response(status: 200, headers: [], body: ScriptedBody(RequestPipelineTests.streamChunks)),
            ]
        ])
        let gateway = pipeline(cut, log: MemoryAccessLog())
        let body = #"{"model":"smart","messages":[{"role":"user","content":"c"}],"stream":true}"#
        _ = await send(gateway, body: body)
        #expect(await send(gateway, body: body).header("x-llmgw-cache") == "miss")
    }

    @Test func callersHaveTheirOwnNamespaceUnlessShared() async throws {
        let transport = Self.transport(2)
        let gateway = pipeline(transport, log: MemoryAccessLog())
        let body = #"{"model":"smart","messages":[{"role":"user","content":"n"}]}"#
        let alice = GatewayRequest(
            method: "POST", path: "/v1/chat/completions", headers: [], body: Array(body.utf8),
            peer: .init(pid: 1, uid: 1000, gid: 1000))
        let bob = GatewayRequest(
            method: "POST", path: "/v1/chat/completions", headers: [], body: Array(body.utf8),
            peer: .init(pid: 2, uid: 1001, gid: 1001))
        let first = RecordingWriter()
        await gateway.handle(alice, writer: first)
        let second = RecordingWriter()
        await gateway.handle(bob, writer: second)
        #expect(second.header("x-llmgw-cache") == "miss")
        #expect(transport.requests.count == 2)
    }
}

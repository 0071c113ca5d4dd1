import GatewayCore
import GatewayTesting
import Testing

@testable import Pipeline

@Suite struct RequestPipelineTests {
    static let keyring = ProviderKeyring(["primary": "sk-primary-secret-123", "backup": "sk-backup-secret-456"])

    private func harness(_ script: [String: [ScriptedAnswer]]) -> PipelineHarness {
        PipelineHarness(ChatScript.configuration, keyring: Self.keyring, transport: ScriptedTransport(script))
    }

    @Test func injectsTheKeyAndRewritesTheModel() async throws {
        let gateway = harness([
            "http://primary": [.response(headers: [("content-type", "application/json")], body: ChatScript.okBody)]
        ])
        let reply = await gateway.send(#"{"model":"smart","messages":[{"role":"user","content":"x"}]}"#)
        #expect(reply.status == 200)
        let sent = try #require(gateway.transport.requests.first)
        #expect(sent.url == "http://primary/v1/chat/completions")
        #expect(sent.headers.contains { $0.name == "Authorization" && $0.value == "Bearer sk-primary-secret-123" })
        #expect(String(decoding: sent.body, as: UTF8.self).contains(#""model":"gpt-4o""#))
        #expect(reply.record.usage == TokenUsage(promptTokens: 5, completionTokens: 7))
        #expect(reply.record.costUSD == (5 * 2.50 + 7 * 10.00) / 1_000_000)
        #expect(reply.record.provider == "primary")
        #expect(reply.record.attempts.count == 1)
    }

    @Test(arguments: [408, 409, 500, 502, 503, 504, 529])
    func transientStatusesRetryTheTargetThenFailOver(status: Int) async throws {
        let busy = ScriptedAnswer.response(status: status, body: #"{"error":{"message":"busy"}}"#)
        let reply = await harness(["http://primary": [busy, busy], "http://backup": [ChatScript.ok]])
            .send(#"{"model":"smart","messages":[1]}"#)
        #expect(reply.status == 200)
        #expect(reply.header("x-llmgw-attempts") == "3")
        #expect(reply.record.attempts.map(\.status) == [status, status, 200])
        #expect(reply.record.attempts.map(\.target) == ["primary/gpt-4o", "primary/gpt-4o", "backup/gpt-4o-mini"])
        #expect(reply.record.provider == "backup")
    }

    @Test(arguments: [401, 403, 429])
    func unavailableTargetsFailOverAtOnce(status: Int) async throws {
        let reply = await harness([
            "http://primary": [.response(status: status, body: #"{"error":{"message":"no"}}"#)],
            "http://backup": [ChatScript.ok],
        ]).send(#"{"model":"smart","messages":[1]}"#)
        #expect(reply.status == 200)
        #expect(reply.record.attempts.map(\.status) == [status, 200])
    }

    @Test func aRateLimitWithAShortRetryAfterRetriesTheSameTarget() async throws {
        let gateway = harness([
            "http://primary": [.response(status: 429, headers: [("retry-after-ms", "20")], chunks: []), ChatScript.ok]
        ])
        let started = ContinuousClock.now
        let reply = await gateway.send(#"{"model":"smart","messages":[1]}"#)
        #expect(reply.status == 200)
        #expect(reply.record.attempts.map(\.target) == ["primary/gpt-4o", "primary/gpt-4o"])
        #expect(ContinuousClock.now - started >= .milliseconds(20))
    }

    @Test(arguments: [400, 404, 413, 422])
    func clientErrorsAreRelayedWithoutFailover(status: Int) async throws {
        let errorBody =
            #"{"error":{"message":"Incorrect API key provided: sk-primary-secret-123","type":"invalid_request_error","param":null,"code":null}}"#
        let gateway = harness([
            "http://primary": [
                .response(status: status, headers: [("content-type", "application/json")], body: errorBody)
            ]
        ])
        let reply = await gateway.send(#"{"model":"smart","messages":[1]}"#)
        #expect(reply.status == status)
        #expect(gateway.transport.requests.count == 1)
        #expect(!reply.body.contains("sk-primary-secret-123"), "a provider key echoed in an error body is scrubbed")
        #expect(reply.record.attempts.count == 1)
    }

    @Test func aRejectedProviderKeyIsNeverRelayedAsTheCallersOwn401() async throws {
        let reply = await harness([
            "http://primary": [
                .response(
                    status: 401, body: #"{"error":{"message":"Incorrect API key provided: sk-primary-secret-123"}}"#)
            ],
            "http://backup": [.response(status: 401, chunks: [])],
        ]).send(#"{"model":"smart","messages":[1]}"#)
        #expect(reply.status == 502)
        #expect(reply.body.contains("rejected the gateway's key for primary"))
        #expect(!reply.body.contains("sk-primary-secret-123"))
    }

    @Test func allTargetsFailingIs502NamingEachAttempt() async throws {
        let reply = await harness([
            "http://primary": [.failure(.connect, "Couldn't connect to server")],
            "http://backup": [.response(status: 503, chunks: []), .response(status: 503, chunks: [])],
        ]).send(#"{"model":"smart","messages":[1]}"#)
        #expect(reply.status == 502)
        #expect(reply.record.attempts.count == 3)
        #expect(reply.body.contains("primary/gpt-4o: connect"))
        #expect(reply.body.contains("backup/gpt-4o-mini: HTTP 503"))
        #expect(reply.record.outcome == .upstreamError)
    }

    @Test func allTargetsTimingOutIs504() async throws {
        let reply = await harness([
            "http://primary": [.failure(.firstByteTimeout, "no answer in 2s")],
            "http://backup": [.failure(.connectTimeout, "no connection in 2s")],
        ]).send(#"{"model":"smart","messages":[1]}"#)
        #expect(reply.status == 504)
        #expect(reply.record.outcome == .timeout)
    }

    @Test func streamsRelayEventsAndStripTheForcedUsageChunk() async throws {
        let gateway = harness([
            "http://primary": [
                .response(headers: [("content-type", "text/event-stream")], chunks: ChatScript.streamChunks)
            ]
        ])
        let reply = await gateway.send(#"{"model":"smart","messages":[1],"stream":true}"#)
        #expect(reply.status == 200)
        #expect(reply.ended)
        #expect(reply.body.contains("Hi"))
        #expect(!reply.body.contains("usage"))
        #expect(reply.body.hasSuffix("data: [DONE]\n\n"))
        #expect(reply.record.usage == TokenUsage(promptTokens: 3, completionTokens: 1))
        let sent = String(decoding: gateway.transport.requests[0].body, as: UTF8.self)
        #expect(sent.contains(#""stream_options":{"include_usage":true}"#))
    }

    @Test func aStreamFailingBeforeAnyEventFailsOver() async throws {
        let reply = await harness([
            "http://primary": [
                .response(chunks: [], failure: UpstreamFailure(.reset, "reset")), .failure(.connect, "refused"),
            ],
            "http://backup": [.response(chunks: ChatScript.streamChunks)],
        ]).send(#"{"model":"smart","messages":[1],"stream":true}"#)
        #expect(reply.status == 200)
        #expect(reply.body.hasSuffix("data: [DONE]\n\n"))
        // A reset is retried once on the same target, then the next target answers.
        #expect(reply.record.attempts.map(\.target) == ["primary/gpt-4o", "primary/gpt-4o", "backup/gpt-4o-mini"])
    }

    @Test func aStreamCutAfterContentEndsWithAnInBandErrorAndNoDone() async throws {
        let gateway = harness([
            "http://primary": [
                .response(
                    chunks: Array(ChatScript.streamChunks.prefix(2)),
                    failure: UpstreamFailure(.reset, "connection reset"))
            ]
        ])
        let reply = await gateway.send(#"{"model":"smart","messages":[1],"stream":true}"#)
        #expect(reply.status == 200)
        #expect(reply.body.contains(#"data: {"error":{"#))
        #expect(!reply.body.contains("[DONE]"))
        #expect(reply.record.outcome == .streamCut)
        #expect(gateway.transport.requests.count == 1, "no failover once content reached the client")
    }

    @Test func aStreamEndingWithoutDoneIsReportedAsCut() async throws {
        let reply = await harness(["http://primary": [.response(chunks: Array(ChatScript.streamChunks.prefix(2)))]])
            .send(#"{"model":"smart","messages":[1],"stream":true}"#)
        #expect(reply.body.contains(#"data: {"error":{"#))
        #expect(reply.record.outcome == .streamCut)
    }

    @Test func aVanishedClientCancelsTheUpstreamBody() async throws {
        let gateway = harness(["http://primary": [.response(chunks: ChatScript.streamChunks)]])
        let reply = await gateway.send(
            #"{"model":"smart","messages":[1],"stream":true}"#, writer: RecordingWriter(failAfterParts: 1))
        let body = try #require(gateway.transport.bodies.first)
        #expect(body.wasCancelled)
        #expect(reply.record.outcome == .clientClosed)
    }

    @Test func unknownModelIs404WithoutAnyAttempt() async throws {
        let gateway = harness([:])
        let reply = await gateway.send(#"{"model":"other","messages":[1]}"#)
        #expect(reply.status == 404)
        #expect(gateway.transport.requests.isEmpty)
        #expect(reply.record.outcome == .notFound)
    }
}

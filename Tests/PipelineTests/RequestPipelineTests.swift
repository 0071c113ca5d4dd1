import GatewayCore
import Logging
import Testing

@testable import Pipeline

@Suite struct RequestPipelineTests {
    static let configuration = GatewayConfiguration(
        providers: [
            ProviderConfiguration(name: "primary", kind: .openai, baseURL: "http://primary/v1"),
            ProviderConfiguration(name: "backup", kind: .openai, baseURL: "http://backup/v1"),
        ],
        models: [
            ModelConfiguration(
                name: "smart",
                targets: [.init(provider: "primary", model: "gpt-4o"), .init(provider: "backup", model: "gpt-4o-mini")]
            )
        ]
    )

    static let okBody = Array(
        #"{"id":"c","object":"chat.completion","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}"#
            .utf8
    )

    static let streamChunks: [[UInt8]] = [
        Array(#"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\#n\#n"#.utf8),
        Array(#"data: {"choices":[{"index":0,"delta":{"content":"Hi"}}]}\#n\#n"#.utf8),
        Array(#"data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}\#n\#n"#.utf8),
        Array("data: [DONE]\n\n".utf8),
    ]

    private func run(
        _ transport: ScriptedTransport,
        body: String,
        writer: RecordingWriter = RecordingWriter()
    ) async -> (RecordingWriter, AccessRecord) {
        let log = MemoryAccessLog()
        let pipeline = RequestPipeline(
            configuration: Self.configuration,
            keyring: ProviderKeyring(["primary": "sk-primary-secret-123", "backup": "sk-backup-secret-456"]),
            transport: transport,
            accessLog: log,
            logger: Logger(label: "test")
        )
        let request = GatewayRequest(
            method: "POST",
            path: "/v1/chat/completions",
            headers: [("content-type", "application/json")],
            body: Array(body.utf8)
        )
        await pipeline.handle(request, writer: writer)
        return (writer, log.all.first!)
    }

    @Test func injectsTheKeyAndRewritesTheModel() async throws {
        let transport = ScriptedTransport([
            "http://primary": [
                .response(
                    status: 200, headers: [("content-type", "application/json")], body: ScriptedBody([Self.okBody]))
            ]
        ])
        let (writer, record) = await run(
            transport, body: #"{"model":"smart","messages":[{"role":"user","content":"x"}]}"#)
        #expect(writer.status == 200)
        let sent = try #require(transport.requests.first)
        #expect(sent.url == "http://primary/v1/chat/completions")
        #expect(sent.headers.contains { $0.name == "Authorization" && $0.value == "Bearer sk-primary-secret-123" })
        #expect(String(decoding: sent.body, as: UTF8.self).contains(#""model":"gpt-4o""#))
        #expect(record.usage == TokenUsage(promptTokens: 5, completionTokens: 7))
        #expect(record.costUSD == (5 * 2.50 + 7 * 10.00) / 1_000_000)
        #expect(record.provider == "primary")
        #expect(record.attempts.count == 1)
    }

    @Test(arguments: [408, 409, 500, 502, 503, 504, 529])
    func transientStatusesRetryTheTargetThenFailOver(status: Int) async throws {
        let busy = {
            ScriptedTransport.Answer.response(
                status: status, headers: [], body: ScriptedBody([Array(#"{"error":{"message":"busy"}}"#.utf8)]))
        }
        let transport = ScriptedTransport([
            "http://primary": [busy(), busy()],
            "http://backup": [.response(status: 200, headers: [], body: ScriptedBody([Self.okBody]))],
        ])
        let (writer, record) = await run(transport, body: #"{"model":"smart","messages":[1]}"#)
        #expect(writer.status == 200)
        #expect(writer.header("x-llmgw-attempts") == "3")
        #expect(record.attempts.map(\.status) == [status, status, 200])
        #expect(record.attempts.map(\.target) == ["primary/gpt-4o", "primary/gpt-4o", "backup/gpt-4o-mini"])
        #expect(record.provider == "backup")
    }

    @Test(arguments: [401, 403, 429])
    func unavailableTargetsFailOverAtOnce(status: Int) async throws {
        let transport = ScriptedTransport([
            "http://primary": [
                .response(status: status, headers: [], body: ScriptedBody([Array(#"{"error":{"message":"no"}}"#.utf8)]))
            ],
            "http://backup": [.response(status: 200, headers: [], body: ScriptedBody([Self.okBody]))],
        ])
        let (writer, record) = await run(transport, body: #"{"model":"smart","messages":[1]}"#)
        #expect(writer.status == 200)
        #expect(record.attempts.map(\.status) == [status, 200])
    }

    @Test func aRateLimitWithAShortRetryAfterRetriesTheSameTarget() async throws {
        let transport = ScriptedTransport([
            "http://primary": [
                .response(status: 429, headers: [("retry-after-ms", "20")], body: ScriptedBody([])),
                .response(status: 200, headers: [], body: ScriptedBody([Self.okBody])),
            ]
        ])
        let started = ContinuousClock.now
        let (writer, record) = await run(transport, body: #"{"model":"smart","messages":[1]}"#)
        #expect(writer.status == 200)
        #expect(record.attempts.map(\.target) == ["primary/gpt-4o", "primary/gpt-4o"])
        #expect(ContinuousClock.now - started >= .milliseconds(20))
    }

    @Test(arguments: [400, 404, 413, 422])
    func clientErrorsAreRelayedWithoutFailover(status: Int) async throws {
        let errorBody =
            #"{"error":{"message":"Incorrect API key provided: sk-primary-secret-123","type":"invalid_request_error","param":null,"code":null}}"#
        let transport = ScriptedTransport([
            "http://primary": [
                .response(
                    status: status, headers: [("content-type", "application/json")],
                    body: ScriptedBody([Array(errorBody.utf8)]))
            ]
        ])
        let (writer, record) = await run(transport, body: #"{"model":"smart","messages":[1]}"#)
        #expect(writer.status == status)
        #expect(transport.requests.count == 1)
        #expect(!writer.body.contains("sk-primary-secret-123"), "a provider key echoed in an error body is scrubbed")
        #expect(record.attempts.count == 1)
    }

    @Test func aRejectedProviderKeyIsNeverRelayedAsTheCallersOwn401() async throws {
        let transport = ScriptedTransport([
            "http://primary": [
                .response(
                    status: 401, headers: [],
                    body: ScriptedBody([
                        Array(#"{"error":{"message":"Incorrect API key provided: sk-primary-secret-123"}}"#.utf8)
                    ]))
            ],
            "http://backup": [.response(status: 401, headers: [], body: ScriptedBody([]))],
        ])
        let (writer, _) = await run(transport, body: #"{"model":"smart","messages":[1]}"#)
        #expect(writer.status == 502)
        #expect(writer.body.contains("rejected the gateway's key for primary"))
        #expect(!writer.body.contains("sk-primary-secret-123"))
    }

    @Test func allTargetsFailingIs502NamingEachAttempt() async throws {
        let transport = ScriptedTransport([
            "http://primary": [.failure(UpstreamFailure(.connect, "Couldn't connect to server"))],
            "http://backup": [
                .response(status: 503, headers: [], body: ScriptedBody([])),
                .response(status: 503, headers: [], body: ScriptedBody([])),
            ],
        ])
        let (writer, record) = await run(transport, body: #"{"model":"smart","messages":[1]}"#)
        #expect(writer.status == 502)
        #expect(record.attempts.count == 3)
        #expect(writer.body.contains("primary/gpt-4o: connect"))
        #expect(writer.body.contains("backup/gpt-4o-mini: HTTP 503"))
        #expect(record.outcome == .upstreamError)
    }

    @Test func allTargetsTimingOutIs504() async throws {
        let transport = ScriptedTransport([
            "http://primary": [.failure(UpstreamFailure(.firstByteTimeout, "no answer in 2s"))],
            "http://backup": [.failure(UpstreamFailure(.connectTimeout, "no connection in 2s"))],
        ])
        let (writer, record) = await run(transport, body: #"{"model":"smart","messages":[1]}"#)
        #expect(writer.status == 504)
        #expect(record.outcome == .timeout)
    }

    @Test func streamsRelayEventsAndStripTheForcedUsageChunk() async throws {
        let transport = ScriptedTransport([
            "http://primary": [
                .response(
                    status: 200, headers: [("content-type", "text/event-stream")], body: ScriptedBody(Self.streamChunks)
                )
            ]
        ])
        let (writer, record) = await run(transport, body: #"{"model":"smart","messages":[1],"stream":true}"#)
        #expect(writer.status == 200)
        #expect(writer.ended)
        #expect(writer.body.contains("Hi"))
        #expect(!writer.body.contains("usage"))
        #expect(writer.body.hasSuffix("data: [DONE]\n\n"))
        #expect(record.usage == TokenUsage(promptTokens: 3, completionTokens: 1))
        let sent = String(decoding: transport.requests[0].body, as: UTF8.self)
        #expect(sent.contains(#""stream_options":{"include_usage":true}"#))
    }

    @Test func aStreamFailingBeforeAnyEventFailsOver() async throws {
        let transport = ScriptedTransport([
            "http://primary": [
                .response(status: 200, headers: [], body: ScriptedBody([], failure: UpstreamFailure(.reset, "reset"))),
                .failure(UpstreamFailure(.connect, "refused")),
            ],
            "http://backup": [.response(status: 200, headers: [], body: ScriptedBody(Self.streamChunks))],
        ])
        let (writer, record) = await run(transport, body: #"{"model":"smart","messages":[1],"stream":true}"#)
        #expect(writer.status == 200)
        #expect(writer.body.hasSuffix("data: [DONE]\n\n"))
        // A reset is retried once on the same target, then the next target answers.
        #expect(record.attempts.map(\.target) == ["primary/gpt-4o", "primary/gpt-4o", "backup/gpt-4o-mini"])
    }

    @Test func aStreamCutAfterContentEndsWithAnInBandErrorAndNoDone() async throws {
        let transport = ScriptedTransport([
            "http://primary": [
                .response(
                    status: 200,
                    headers: [],
                    body: ScriptedBody(
                        Array(Self.streamChunks.prefix(2)), failure: UpstreamFailure(.reset, "connection reset"))
                )
            ]
        ])
        let (writer, record) = await run(transport, body: #"{"model":"smart","messages":[1],"stream":true}"#)
        #expect(writer.status == 200)
        #expect(writer.body.contains(#"data: {"error":{"#))
        #expect(!writer.body.contains("[DONE]"))
        #expect(record.outcome == .streamCut)
        #expect(transport.requests.count == 1, "no failover once content reached the client")
    }

    @Test func aStreamEndingWithoutDoneIsReportedAsCut() async throws {
        let transport = ScriptedTransport([
            "http://primary": [
                .response(status: 200, headers: [], body: ScriptedBody(Array(Self.streamChunks.prefix(2))))
            ]
        ])
        let (writer, record) = await run(transport, body: #"{"model":"smart","messages":[1],"stream":true}"#)
        #expect(writer.body.contains(#"data: {"error":{"#))
        #expect(record.outcome == .streamCut)
    }

    @Test func aVanishedClientCancelsTheUpstreamBody() async throws {
        let body = ScriptedBody(Self.streamChunks)
        let transport = ScriptedTransport(["http://primary": [.response(status: 200, headers: [], body: body)]])
        let (_, record) = await run(
            transport,
            body: #"{"model":"smart","messages":[1],"stream":true}"#,
            writer: RecordingWriter(failAfterParts: 1)
        )
        #expect(body.wasCancelled)
        #expect(record.outcome == .clientClosed)
    }

    @Test func unknownModelIs404WithoutAnyAttempt() async throws {
        let transport = ScriptedTransport([:])
        let (writer, record) = await run(transport, body: #"{"model":"other","messages":[1]}"#)
        #expect(writer.status == 404)
        #expect(transport.requests.isEmpty)
        #expect(record.outcome == .notFound)
    }
}

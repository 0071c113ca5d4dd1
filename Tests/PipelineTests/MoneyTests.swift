import GatewayCore
import GatewayTesting
import Testing

@testable import Pipeline

/// Money is exact: budgets never run on targets that have no price, usage the provider did not
/// report is estimated rather than forgotten, count_tokens is admitted like any request, and
/// names with `/` survive the usage table.
@Suite struct MoneyTests {
    static let configuration = GatewayConfiguration(
        auth: AuthConfiguration(mode: .keys),
        providers: [
            ProviderConfiguration(name: "local", kind: .openai, baseURL: "http://local/v1"),
            ProviderConfiguration(name: "primary", kind: .openai, baseURL: "http://primary/v1"),
            ProviderConfiguration(name: "azure", kind: .azure, baseURL: "http://azure"),
        ],
        models: [
            ModelConfiguration(name: "selfhosted", targets: [.init(provider: "local", model: "my-llama")]),
            ModelConfiguration(
                name: "mixed",
                targets: [.init(provider: "local", model: "my-llama"), .init(provider: "primary", model: "gpt-4o")]),
            ModelConfiguration(name: "deployment", targets: [.init(provider: "azure", model: "prod-chat")]),
            ModelConfiguration(name: "team/model", targets: [.init(provider: "primary", model: "gpt-4o")]),
        ]
    )

    private func harness(_ script: [String: [ScriptedAnswer]]) -> PipelineHarness {
        PipelineHarness(Self.configuration, transport: ScriptedTransport(script), stores: .keysAndAdmission)
    }

    private func key(_ gateway: PipelineHarness, budget: Double? = nil) throws -> String {
        try key(gateway, limits: LimitSettings(budget: budget.map { Budget(usd: $0, period: .day) }))
    }

    private func key(_ gateway: PipelineHarness, limits: LimitSettings) throws -> String {
        try gateway.makeKey(name: "money", limits: limits).text
    }

    private func send(
        _ gateway: PipelineHarness, key: String, model: String, stream: Bool = false, maxTokens: Int = 50,
        path: String = "/v1/chat/completions",
        writer: RecordingWriter = RecordingWriter()
    ) async -> PipelineReply {
        await gateway.send(
            .chatRequest(model: model, stream: stream, text: "hi", maxTokens: maxTokens), to: path, key: key,
            writer: writer)
    }

    @Test func aBudgetedKeyIsRefusedWhenNoTargetHasAPrice() async throws {
        let gateway = harness(["http://local": [ChatScript.ok]])
        let budgeted = try key(gateway, budget: 5)
        let refused = await send(gateway, key: budgeted, model: "selfhosted")
        #expect(refused.status == 403)
        #expect(refused.body.contains("cannot be enforced"))
        // Without a budget the same target serves.
        #expect(await send(gateway, key: try key(gateway), model: "selfhosted").status == 200)
    }

    @Test func aBudgetedKeySkipsTheUnpricedTargetAndIsChargedOnThePricedOne() async throws {
        let gateway = harness(["http://local": [ChatScript.ok], "http://primary": [ChatScript.ok]])
        let reply = await send(gateway, key: try key(gateway, budget: 5), model: "mixed")
        #expect(reply.status == 200)
        #expect(gateway.transport.requests.map(\.url).allSatisfy { $0.hasPrefix("http://primary") })
        let record = reply.record
        #expect(record.attempts.first?.error?.contains("no price") == true)
        #expect((record.costUSD ?? 0) > 0)
        #expect(try gateway.admission.usage(fromDay: nil).first?.microUSD ?? 0 > 0)
    }

    @Test func anAzureDeploymentIsPricedByTheModelItsAnswerNames() async throws {
        let answer =
            #"{"id":"c","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":1000,"completion_tokens":1000,"total_tokens":2000}}"#
        let gateway = harness(["http://azure": [.response(body: answer)]])
        let reply = await send(gateway, key: try key(gateway, budget: 5), model: "deployment")
        #expect(reply.status == 200)
        // gpt-4o: $2.50 in, $10 out per million tokens.
        #expect(abs((reply.record.costUSD ?? 0) - 0.0125) < 1e-9)
    }

    @Test func aClientThatClosesAtFinishReasonIsChargedWhatItWasSent() async throws {
        // The usage chunk would come after finish_reason; the client is gone by then.
        let chunks: [[UInt8]] = [
            Array(#"data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}\#n\#n"#.utf8),
            Array(#"data: {"choices":[{"index":0,"delta":{"content":"Hello"}}]}\#n\#n"#.utf8),
            Array(#"data: {"choices":[{"index":0,"delta":{"content":" there"}}]}\#n\#n"#.utf8),
            Array(#"data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\#n\#n"#.utf8),
            Array(
                #"data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}\#n\#n"#.utf8),
            Array("data: [DONE]\n\n".utf8),
        ]
        let gateway = harness(["http://primary": [.response(chunks: chunks)]])
        let reply = await send(
            gateway, key: try key(gateway, budget: 5), model: "team/model", stream: true,
            writer: RecordingWriter(failAfterParts: 2))
        #expect(reply.status == 200)
        let record = reply.record
        #expect(record.outcome == .clientClosed)
        let usage = try #require(record.usage, "an estimate, never nothing")
        #expect(usage.promptTokens != 9, "the provider's usage never arrived: this is the estimate")
        #expect(usage.completionTokens >= 1)
        #expect(usage.promptTokens >= 1)
        #expect((record.costUSD ?? 0) > 0)
        let line = try #require(try gateway.admission.usage(fromDay: nil).first)
        #expect(line.completionTokens >= 1)
        #expect(line.model == "team/model", "a model name with / reads back as written")
    }

    @Test func usageKeysEscapeSlashesAndPercents() throws {
        let escaped = "usage/2026-12-02/key:abc/eng%2Fml%25/a%2Fb"
        let line = try #require(UsageLine(key: escaped, values: [1, 2, 3, 4]))
        #expect(line.team == "eng/ml%")
        #expect(line.model == "a/b")
        #expect(line.key == escaped)
        #expect(UsageLine(key: "usage/2026-12-02/key:abc/-/gpt-4o", values: [1, 2, 3, 4])?.model == "gpt-4o")
    }

    @Test func countTokensIsAdmittedLikeAnyRequest() async throws {
        let gateway = harness([:])
        let key = try key(gateway, limits: LimitSettings(requestsPerMinute: 1))
        let first = await send(gateway, key: key, model: "team/model", path: "/v1/messages/count_tokens")
        #expect(first.status == 200)
        let second = await send(gateway, key: key, model: "team/model", path: "/v1/messages/count_tokens")
        #expect(second.status == 429, "count_tokens is rate limited")
        #expect(
            try gateway.admission.usage(fromDay: nil).first?.completionTokens == 0, "nothing is charged for a count")
    }

    /// The largest `max_tokens` the request check lets through (2^31-1; beyond it a 400) is
    /// reserved as 2^30 against a 100k tpm and a budget: no trap, admitted.
    @Test func theLargestMaxTokensNeverTrapsAdmission() async throws {
        let gateway = harness(["http://primary": [ChatScript.ok]])
        let key = try key(
            gateway, limits: LimitSettings(tokensPerMinute: 100_000, budget: Budget(usd: 1, period: .day)))
        let writer = await send(gateway, key: key, model: "team/model", maxTokens: 2_147_483_647)
        #expect(writer.status == 200)
    }
}

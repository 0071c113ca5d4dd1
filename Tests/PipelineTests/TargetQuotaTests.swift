import GatewayCore
import GatewayTesting
import Testing

@testable import Pipeline

@Suite struct TargetQuotaTests {
    @Test func aTargetAtItsQuotaIsSkippedAndAllAtQuotaIs429() async throws {
        let configuration = ChatScript.configuration(smart: [
            .init(provider: "primary", model: "gpt-4o", requestsPerMinute: 1),
            .init(provider: "backup", model: "gpt-4o-mini", requestsPerMinute: 1),
        ])
        let gateway = PipelineHarness(
            configuration,
            transport: ScriptedTransport(["http://primary": [ChatScript.ok], "http://backup": [ChatScript.ok]]),
            stores: .keysAndAdmission
        )
        func send() async -> PipelineReply {
            await gateway.send(#"{"model":"smart","messages":[1]}"#, headers: [])
        }
        #expect(await send().header("x-llmgw-provider") == "primary")
        let second = await send()
        #expect(second.header("x-llmgw-provider") == "backup")
        #expect(second.record.attempts.first?.error?.contains("provider quota") == true)
        let third = await send()
        #expect(third.status == 429)
        #expect(Int(third.header("retry-after") ?? "") ?? 0 >= 1)
        #expect(gateway.transport.requests.count == 2)
    }
}

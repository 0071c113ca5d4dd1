import GatewayCore
import Logging
import Testing

@testable import Pipeline

@Suite struct TargetQuotaTests {
    @Test func aTargetAtItsQuotaIsSkippedAndAllAtQuotaIs429() async throws {
        var configuration = RequestPipelineTests.configuration
        configuration.models = [
            ModelConfiguration(
                name: "smart",
                targets: [
                    .init(provider: "primary", model: "gpt-4o", requestsPerMinute: 1),
                    .init(provider: "backup", model: "gpt-4o-mini", requestsPerMinute: 1),
                ]
            )
        ]
        let transport = ScriptedTransport([
            "http://primary": [.response(status: 200, headers: [], body: ScriptedBody([RequestPipelineTests.okBody]))],
            "http://backup": [.response(status: 200, headers: [], body: ScriptedBody([RequestPipelineTests.okBody]))],
        ])
        let log = MemoryAccessLog()
        let pipeline = RequestPipeline(
            configuration: configuration,
            keyring: ProviderKeyring(),
            transport: transport,
            accessLog: log,
            logger: Logger(label: "test"),
            state: SharedState(keys: InMemoryKeyStore(), admission: InMemoryAdmissionStore())
        )
        func send() async -> RecordingWriter {
            let writer = RecordingWriter()
            await pipeline.handle(
                GatewayRequest(
                    method: "POST",
                    path: "/v1/chat/completions",
                    headers: [],
                    body: Array(#"{"model":"smart","messages":[1]}"#.utf8)
                ),
                writer: writer
            )
            return writer
        }
        #expect(await send().header("x-llmgw-provider") == "primary")
        let second = await send()
        #expect(second.header("x-llmgw-provider") == "backup")
        #expect(log.all[1].attempts.first?.error?.contains("provider quota") == true)
        let third = await send()
        #expect(third.status == 429)
        #expect(Int(third.header("retry-after") ?? "") ?? 0 >= 1)
        #expect(transport.requests.count == 2)
    }
}

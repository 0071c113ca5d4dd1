import GatewayCore
import Logging
import Testing

@testable import Pipeline

@Suite struct BalancingTests {
    private func pipeline(_ strategy: BalancingStrategy, stats: InMemoryTargetStatsStore, answers: Int) -> (
        RequestPipeline, MemoryAccessLog
    ) {
        var configuration = RequestPipelineTests.configuration
        var model = ModelConfiguration(
            name: "smart",
            targets: [.init(provider: "primary", model: "gpt-4o"), .init(provider: "backup", model: "gpt-4o-mini")]
        )
        model.strategy = strategy
        model.targets[1].weight = 3
        configuration.models = [model]
        let ok = {
            ScriptedTransport.Answer.response(
                status: 200, headers: [], body: ScriptedBody([RequestPipelineTests.okBody]))
        }
        let log = MemoryAccessLog()
        let gateway = RequestPipeline(
            configuration: configuration,
            keyring: ProviderKeyring(),
            transport: ScriptedTransport([
                "http://primary": (0..<answers).map { _ in ok() }, "http://backup": (0..<answers).map { _ in ok() },
            ]),
            accessLog: log,
            logger: Logger(label: "test"),
            state: SharedState(keys: InMemoryKeyStore(), admission: InMemoryAdmissionStore(), stats: stats)
        )
        return (gateway, log)
    }

    private func send(_ gateway: RequestPipeline, count: Int) async {
        for _ in 0..<count {
            await gateway.handle(
                GatewayRequest(
                    method: "POST", path: "/v1/chat/completions", headers: [],
                    body: Array(#"{"model":"smart","messages":[1]}"#.utf8)),
                writer: RecordingWriter()
            )
        }
    }

    @Test func weightedSplitsTrafficByWeight() async {
        let (gateway, log) = pipeline(.weighted, stats: InMemoryTargetStatsStore(), answers: 400)
        await send(gateway, count: 400)
        let backup = log.all.filter { $0.provider == "backup" }.count
        // Weight 3 of 4: 300 expected; the standard deviation is about 8.7.
        #expect((250...350).contains(backup), "backup served \(backup) of 400")
    }

    @Test func leastLatencyShiftsTrafficToTheFasterTarget() async throws {
        let stats = InMemoryTargetStatsStore()
        try stats.recordLatency("primary/gpt-4o", micros: 50_000)
        try stats.recordLatency("backup/gpt-4o-mini", micros: 5_000)
        let (gateway, log) = pipeline(.leastLatency, stats: stats, answers: 10)
        await send(gateway, count: 10)
        #expect(log.all.allSatisfy { $0.provider == "backup" })
    }

    @Test func leastBusySendsToTheTargetWithFewerRequestsInFlight() async throws {
        let stats = InMemoryTargetStatsStore()
        try stats.adjustInFlight("primary/gpt-4o", by: 3)
        let (gateway, log) = pipeline(.leastBusy, stats: stats, answers: 5)
        await send(gateway, count: 1)
        #expect(log.all.first?.provider == "backup")
        // In-flight counts are released when the attempt ends.
        #expect(try stats.stats(for: ["backup/gpt-4o-mini"]).first?.inFlight == 0)
    }
}

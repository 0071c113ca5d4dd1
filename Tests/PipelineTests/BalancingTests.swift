import GatewayCore
import GatewayTesting
import Testing

@testable import Pipeline

@Suite struct BalancingTests {
    private func harness(_ strategy: BalancingStrategy, stats: InMemoryTargetStatsStore) -> PipelineHarness {
        var configuration = ChatScript.configuration
        configuration.models[0].strategy = strategy
        configuration.models[0].targets[1].weight = 3
        let gateway = PipelineHarness(configuration, stores: [.keysAndAdmission, .stats], stats: stats)
        gateway.transport.always(ChatScript.ok, for: "http://primary")
        gateway.transport.always(ChatScript.ok, for: "http://backup")
        return gateway
    }

    private func send(_ gateway: PipelineHarness, count: Int) async {
        for _ in 0..<count { await gateway.send(#"{"model":"smart","messages":[1]}"#, headers: []) }
    }

    @Test func weightedSplitsTrafficByWeight() async {
        let gateway = harness(.weighted, stats: InMemoryTargetStatsStore())
        await send(gateway, count: 400)
        let backup = gateway.log.all.filter { $0.provider == "backup" }.count
        // Weight 3 of 4: 300 expected; the standard deviation is about 8.7.
        #expect((250...350).contains(backup), "backup served \(backup) of 400")
    }

    @Test func leastLatencyShiftsTrafficToTheFasterTarget() async throws {
        let stats = InMemoryTargetStatsStore()
        try stats.recordLatency("primary/gpt-4o", micros: 50_000)
        try stats.recordLatency("backup/gpt-4o-mini", micros: 5_000)
        let gateway = harness(.leastLatency, stats: stats)
        await send(gateway, count: 10)
        #expect(gateway.log.all.allSatisfy { $0.provider == "backup" })
    }

    @Test func leastBusySendsToTheTargetWithFewerRequestsInFlight() async throws {
        let stats = InMemoryTargetStatsStore()
        try stats.adjustInFlight("primary/gpt-4o", by: 3)
        let gateway = harness(.leastBusy, stats: stats)
        await send(gateway, count: 1)
        #expect(gateway.log.all.first?.provider == "backup")
        // In-flight counts are released when the attempt ends.
        #expect(try stats.stats(for: ["backup/gpt-4o-mini"]).first?.inFlight == 0)
    }
}

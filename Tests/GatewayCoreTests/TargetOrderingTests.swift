import Testing

@testable import GatewayCore

@Suite struct TargetOrderingTests {
    @Test func weightedFirstChoicesFollowTheWeightsWithinStatisticalBounds() {
        var generator = SystemRandomNumberGenerator()
        var firsts = [0, 0, 0]
        let runs = 6000
        for _ in 0..<runs {
            let order = TargetOrdering.order(
                .weighted,
                weights: [1, 2, 3],
                stats: Array(repeating: TargetStats(), count: 3),
                costs: [nil, nil, nil],
                random: (0..<3).map { _ in Double.random(in: 0..<1, using: &generator) }
            )
            #expect(Set(order) == [0, 1, 2])
            firsts[order[0]] += 1
        }
        // Expected shares 1/6, 2/6, 3/6; 5 standard deviations at n=6000 is under 2.5 points.
        for (index, expected) in [1.0 / 6, 2.0 / 6, 3.0 / 6].enumerated() {
            let share = Double(firsts[index]) / Double(runs)
            #expect(abs(share - expected) < 0.03, "target \(index): \(share) vs \(expected)")
        }
    }

    @Test func leastLatencyMeasuresUnknownTargetsThenPrefersTheFastest() {
        let order = TargetOrdering.order(
            .leastLatency,
            weights: [1, 1, 1],
            stats: [TargetStats(latencyMicros: 900), TargetStats(latencyMicros: nil), TargetStats(latencyMicros: 200)],
            costs: [nil, nil, nil],
            random: [0, 0, 0]
        )
        #expect(order == [1, 2, 0])
    }

    @Test func theLatencyAverageMovesTowardNewSamples() {
        var average: Int64? = nil
        average = TargetOrdering.ewma(average, 1000)
        #expect(average == 1000)
        for _ in 0..<20 { average = TargetOrdering.ewma(average, 100) }
        #expect(average! < 200)
    }

    @Test func leastBusyPrefersTheIdleTarget() {
        let order = TargetOrdering.order(
            .leastBusy,
            weights: [1, 1, 1],
            stats: [TargetStats(inFlight: 4), TargetStats(inFlight: 1), TargetStats(inFlight: 1)],
            costs: [nil, nil, nil],
            random: [0, 0, 0]
        )
        #expect(order == [1, 2, 0])
    }

    @Test func cheapestPutsUnpricedTargetsLast() {
        let order = TargetOrdering.order(
            .cheapest,
            weights: [1, 1, 1],
            stats: Array(repeating: TargetStats(), count: 3),
            costs: [0.002, nil, 0.0005],
            random: [0, 0, 0]
        )
        #expect(order == [2, 0, 1])
    }
}

import Testing

@testable import MockProvider

/// The stream plan and the fault plan as plain values: steps and budgets, no sockets.
@Suite struct MockStreamPlanTests {
    static let events = ["a", "b", "c", "[DONE]"]

    @Test func withoutFaultsEveryEventThenFinish() {
        var plan = MockStreamPlan(events: Self.events, faults: nil)
        var steps: [MockStreamPlan<String>.Step] = []
        for _ in 0..<5 { steps.append(plan.step()) }
        #expect(steps == Self.events.map { .send($0, pauseAfter: nil) } + [.finish])
    }

    @Test func chunkDelayPausesBetweenEventsOnly() throws {
        var plan = MockStreamPlan(events: Self.events, faults: try actions("chunk_delay=10ms"))
        #expect(plan.step() == .send("a", pauseAfter: .milliseconds(10)))
        for _ in 0..<2 { _ = plan.step() }
        #expect(plan.step() == .send("[DONE]", pauseAfter: nil))
        #expect(plan.step() == .finish)
    }

    @Test(arguments: [
        ("cut=2", MockFaultActions.StreamStop.cut, 2), ("stall=0", .stall, 0), ("reset=3", .reset, 3),
        ("error_event=1", .errorEvent, 1), ("cut=3;stall=1", .stall, 1),
    ])
    func earliestStopWins(spec: String, kind: MockFaultActions.StreamStop, after: Int) throws {
        var plan = MockStreamPlan(events: Self.events, faults: try actions(spec))
        for index in 0..<after { #expect(plan.step() == .send(Self.events[index], pauseAfter: nil)) }
        #expect(plan.step() == .stop(kind))
    }

    @Test func stopPastTheEndIsIgnored() throws {
        var plan = MockStreamPlan(events: Self.events, faults: try actions("cut=10"))
        for _ in Self.events { _ = plan.step() }
        #expect(plan.step() == .finish)
    }

    @Test func statusBudgetRunsOutButOtherFaultsStay() throws {
        var plan = MockFaultPlan(try MockFaultSpec(parsing: "status=503x1;delay=5ms"))
        #expect(plan.next()?.status == 503)
        let second = plan.next()
        #expect(second?.status == nil)
        #expect(second?.delay == .milliseconds(5))
        var retryOnly = MockFaultPlan(try MockFaultSpec(parsing: "status=429x1;retry_after=2"))
        #expect(retryOnly.next()?.retryAfterSeconds == 2)
        #expect(retryOnly.next() == nil)
    }

    private func actions(_ spec: String) throws -> MockFaultActions? {
        var plan = MockFaultPlan(try MockFaultSpec(parsing: spec))
        return plan.next()
    }
}

import GatewayCore
import GatewayTesting
import Synchronization
import Testing

@testable import Pipeline

/// Limits and circuits survive wall-clock steps in both directions: a clock stepped back never
/// refuses a key (or keeps a circuit open) for the size of the step, and one stepped forward
/// starts from fresh windows.
@Suite struct ClockStepTests {
    private func harness(_ script: [String: [ScriptedAnswer]] = [:]) -> PipelineHarness {
        var configuration = ChatScript.configuration
        configuration.auth.mode = .keys
        configuration.circuit = CircuitPolicy(failures: 1, window: .seconds(30), cooldown: .seconds(10))
        return PipelineHarness(
            configuration, transport: ScriptedTransport(script), stores: [.keysAndAdmission, .circuits])
    }

    /// Primary answers every request.
    private func answering() -> PipelineHarness {
        let gateway = harness()
        gateway.transport.always(ChatScript.ok, for: "http://primary")
        return gateway
    }

    private func key(_ gateway: PipelineHarness, rpm: Int?) throws -> String {
        try gateway.makeKey(name: "clock", limits: LimitSettings(requestsPerMinute: rpm)).text
    }

    private func send(_ gateway: PipelineHarness, key: String) async -> Int {
        await gateway.send(.chatRequest(model: "smart", text: "hi", maxTokens: 10), key: key).status ?? -1
    }

    @Test func aRateLimitRecoversWithinOneIntervalAfterTheClockStepsBackTenMinutes() async throws {
        let gateway = answering()
        let key = try key(gateway, rpm: 2)
        #expect(await send(gateway, key: key) == 200)
        #expect(await send(gateway, key: key) == 200)
        #expect(await send(gateway, key: key) == 429)
        gateway.clock.stepBack(.seconds(600))
        // The stored arrival time lies 11 minutes ahead: the first request after the step finds
        // a full bucket (and repairs it to one period ahead), the next interval has room again.
        // Unclamped, the key would be refused for 11 minutes.
        #expect(await send(gateway, key: key) == 429)
        gateway.clock.advance(.seconds(31))
        #expect(await send(gateway, key: key) == 200, "refused for the size of the step")
        #expect(await send(gateway, key: key) == 429, "the limit still holds after the step")
    }

    @Test func aClockSteppedForwardByADayStartsAFreshWindow() async throws {
        let gateway = answering()
        let key = try key(gateway, rpm: 2)
        #expect(await send(gateway, key: key) == 200)
        #expect(await send(gateway, key: key) == 200)
        gateway.clock.advance(.seconds(86_400))
        #expect(await send(gateway, key: key) == 200)
        #expect(await send(gateway, key: key) == 200)
        #expect(await send(gateway, key: key) == 429)
    }

    @Test func anOpenCircuitIsProbedAfterItsCooldownDespiteAClockSteppedBack() async throws {
        // primary fails (both tries of the first request open its circuit), then answers; backup always answers.
        let gateway = harness([
            "http://primary": Array(repeating: .response(status: 500, body: "{}"), count: 2)
                + Array(repeating: ChatScript.ok, count: 5),
            "http://backup": Array(repeating: ChatScript.ok, count: 6),
        ])
        let key = try key(gateway, rpm: nil)
        #expect(await send(gateway, key: key) == 200)  // served by backup
        #expect(try gateway.circuits.state(of: "primary/gpt-4o").openUntilMillis != 0)
        gateway.clock.stepBack(.seconds(600))
        // The first look after the step brings the cooldown back to at most one cooldown ahead.
        #expect(await send(gateway, key: key) == 200)  // backup again
        gateway.clock.advance(.seconds(11))
        #expect(await send(gateway, key: key) == 200)
        // The probe went to primary and closed its circuit: without clamping it stays open 10 minutes.
        #expect(try gateway.circuits.state(of: "primary/gpt-4o") == CircuitState())
    }

    @Test func gcraAndCircuitStateAreClampedPurely() {
        let gcra = GCRA(limit: 60)
        let now: Int64 = 1_000_000_000
        // A TAT a day ahead behaves like a full bucket: the next unit fits after one interval.
        guard case .limited(let retry) = gcra.check(tat: now + 86_400_000_000, cost: 1, now: now) else {
            Issue.record("a far-future TAT must still be limited by one interval")
            return
        }
        #expect(retry <= 1_000_000)
        #expect(gcra.adjust(tat: now, delta: Int.max, now: now) == now + 60_000_000)
        #expect(gcra.adjust(tat: now, delta: Int.min, now: now) == now)
        var state = CircuitState()
        state.openUntilMillis = .max
        state.windowStartMillis = .max
        let policy = CircuitPolicy(failures: 1, window: .seconds(30), cooldown: .seconds(10))
        let clamped = state.clamped(nowMillis: 5_000, policy: policy)
        #expect(clamped.openUntilMillis == 15_000)
        #expect(clamped.windowStartMillis == 5_000)
    }
}

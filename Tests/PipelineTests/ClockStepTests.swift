import GatewayCore
import Logging
import Synchronization
import Testing

@testable import Pipeline

/// A wall clock the test steps by hand (NTP corrections, a VM resumed after a day).
final class ManualWallClock: WallClock {
    private let now = Mutex<Int64>(1_800_000_000_000)
    func nowMillis() -> Int64 { now.withLock { $0 } }
    func advance(_ duration: Duration) { now.withLock { $0 += duration.saturatingMillis } }
    func stepBack(_ duration: Duration) { now.withLock { $0 -= duration.saturatingMillis } }
}

/// Limits and circuits survive wall-clock steps in both directions: a clock stepped back never
/// refuses a key (or keeps a circuit open) for the size of the step, and one stepped forward
/// starts from fresh windows.
@Suite struct ClockStepTests {
    let keys = InMemoryKeyStore()
    let admission = InMemoryAdmissionStore()
    let circuits = InMemoryCircuitStore()
    let clock = ManualWallClock()

    let log = MemoryAccessLog()

    private func pipeline(_ transport: ScriptedTransport) -> RequestPipeline {
        var configuration = RequestPipelineTests.configuration
        configuration.auth.mode = .keys
        configuration.circuit = CircuitPolicy(failures: 1, window: .seconds(30), cooldown: .seconds(10))
        return RequestPipeline(
            configuration: configuration,
            keyring: ProviderKeyring(),
            transport: transport,
            accessLog: log,
            logger: Logger(label: "test"),
            state: SharedState(keys: keys, admission: admission, circuits: circuits),
            clock: clock
        )
    }

    private func key(rpm: Int?) throws -> String {
        let token = VirtualKeyToken.generate()
        try keys.insert(
            VirtualKeyRecord(
                publicID: token.publicID, name: "clock", team: nil,
                secretHash: VirtualKeyHashing.hash(secret: token.secret), allowedModels: nil,
                limits: LimitSettings(requestsPerMinute: rpm), createdAtMillis: 0))
        return token.text
    }

    private func send(_ pipeline: RequestPipeline, key: String) async -> Int {
        let writer = RecordingWriter()
        await pipeline.handle(
            GatewayRequest(
                method: "POST", path: "/v1/chat/completions",
                headers: [("content-type", "application/json"), ("authorization", "Bearer \(key)")],
                body: Array(#"{"model":"smart","messages":[{"role":"user","content":"hi"}],"max_tokens":10}"#.utf8)
            ),
            writer: writer
        )
        return writer.status ?? -1
    }

    @Test func aRateLimitRecoversWithinOneIntervalAfterTheClockStepsBackTenMinutes() async throws {
        let gateway = pipeline(KeysAndAdmissionTests.okTransport(count: 20))
        let key = try key(rpm: 2)
        #expect(await send(gateway, key: key) == 200)
        #expect(await send(gateway, key: key) == 200)
        #expect(await send(gateway, key: key) == 429)
        clock.stepBack(.seconds(600))
        // The stored arrival time lies 11 minutes ahead: the first request after the step finds
        // a full bucket (and repairs it to one period ahead), the next interval has room again.
        // Unclamped, the key would be refused for 11 minutes.
        #expect(await send(gateway, key: key) == 429)
        clock.advance(.seconds(31))
        #expect(await send(gateway, key: key) == 200, "refused for the size of the step")
        #expect(await send(gateway, key: key) == 429, "the limit still holds after the step")
    }

    @Test func aClockSteppedForwardByADayStartsAFreshWindow() async throws {
        let gateway = pipeline(KeysAndAdmissionTests.okTransport(count: 20))
        let key = try key(rpm: 2)
        #expect(await send(gateway, key: key) == 200)
        #expect(await send(gateway, key: key) == 200)
        clock.advance(.seconds(86_400))
        #expect(await send(gateway, key: key) == 200)
        #expect(await send(gateway, key: key) == 200)
        #expect(await send(gateway, key: key) == 429)
    }

    @Test func anOpenCircuitIsProbedAfterItsCooldownDespiteAClockSteppedBack() async throws {
        // primary fails (both tries of the first request open its circuit), then answers; backup always answers.
        let transport = ScriptedTransport([
            "http://primary": (0..<2).map { _ in
                .response(status: 500, headers: [], body: ScriptedBody([Array("{}".utf8)]))
            }
                + (0..<5).map { _ in
                    .response(status: 200, headers: [], body: ScriptedBody([RequestPipelineTests.okBody]))
                },
            "http://backup": (0..<6).map { _ in
                .response(status: 200, headers: [], body: ScriptedBody([RequestPipelineTests.okBody]))
            },
        ])
        let gateway = pipeline(transport)
        let key = try key(rpm: nil)
        #expect(await send(gateway, key: key) == 200)  // served by backup
        #expect(try circuits.state(of: "primary/gpt-4o").openUntilMillis != 0)
        clock.stepBack(.seconds(600))
        // The first look after the step brings the cooldown back to at most one cooldown ahead.
        #expect(await send(gateway, key: key) == 200)  // backup again
        clock.advance(.seconds(11))
        #expect(await send(gateway, key: key) == 200)
        // The probe went to primary and closed its circuit: without clamping it stays open 10 minutes.
        #expect(try circuits.state(of: "primary/gpt-4o") == CircuitState())
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

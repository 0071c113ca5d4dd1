import GatewayCore
import Logging
import Pipeline
import RedisStore
import Testing

/// `FleetAdmissionStore` (the `shared.on_error` wrapper) over a real `RedisAdmissionStore`: a
/// killed server fails fast into the configured fallback, and a restarted one counts again.
@Suite(.enabled(if: RedisServerProcess.isInstalled, RedisServerProcess.notInstalled), .serialized)
struct RedisAdmissionStoreFleetTests {
    static let scope = AdmissionScope(id: "key:fleet", limits: LimitSettings(requestsPerMinute: 3))
    static let request = AdmissionRequest(scopes: [scope], estimatedTokens: 1, estimatedCostUSD: 0, nowMillis: 0)

    static func admitted(_ store: any AdmissionStore, _ count: Int) async throws -> Int {
        var admitted = 0
        for _ in 0..<count {
            if case .admitted = try await store.admit(request) { admitted += 1 }
        }
        return admitted
    }

    @Test(arguments: [SharedConfiguration.OnError.local, .deny, .allow])
    func aKilledServerFollowsOnErrorAndARestartedOneCountsAgain(_ onError: SharedConfiguration.OnError) async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let timeout = Duration.milliseconds(300)
        let client = RedisClient(
            endpoint: server.endpoint,
            configuration: .init(timeout: timeout, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(100)))
        defer { client.shutdown() }
        let fleet = FleetAdmissionStore(
            fleet: RedisAdmissionStore(client: client), local: InMemoryAdmissionStore(), onError: onError,
            logger: Logger(label: "test"))
        #expect(try await Self.admitted(fleet, 5) == 3)  // the shared count
        #expect(!fleet.isDegraded)

        server.stop()
        let clock = ContinuousClock()
        let started = clock.now
        switch onError {
        case .local:
            #expect(try await Self.admitted(fleet, 5) == 3)  // this host's own count
        case .deny:
            for _ in 0..<5 {
                await #expect(throws: RedisError.self) { try await fleet.admit(Self.request) }
            }
        case .allow:
            #expect(try await Self.admitted(fleet, 5) == 5)
        }
        // Five calls, each bounded by the timeout (slack for a loaded 2-core machine: the whole
        // suite runs alongside).
        #expect(clock.now - started < timeout * 5 + .seconds(10))
        #expect(fleet.isDegraded)

        try server.start()  // a fresh, empty server
        // Probe with requests of no scope until the fleet's store answers again.
        let deadline = clock.now + .seconds(10)
        let probe = AdmissionRequest(scopes: [], estimatedTokens: 0, estimatedCostUSD: 0, nowMillis: 0)
        // Until every connection of the pool is back (each reconnects on its own backoff): ten
        // answered probes in a row.
        var answered = 0
        while clock.now < deadline && answered < 10 {
            _ = try? await fleet.admit(probe)
            answered = fleet.isDegraded ? 0 : answered + 1
            if answered == 0 { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(!fleet.isDegraded)
        #expect(try await Self.admitted(fleet, 5) == 3)  // shared counting resumed
    }
}

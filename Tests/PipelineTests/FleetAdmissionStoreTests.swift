import GatewayCore
import Logging
import Synchronization
import Testing

@testable import Pipeline

/// `FleetAdmissionStore`: the fleet's store first, and `on_error` exactly when it fails.
@Suite struct FleetAdmissionStoreTests {
    /// A fleet store that can be taken down and brought back.
    final class Switchable: AdmissionStore {
        let inner = InMemoryAdmissionStore()
        let down = Mutex(false)

        struct Unreachable: Error, CustomStringConvertible {
            var description: String { "redis: connection refused" }
        }

        func check() throws { if down.withLock({ $0 }) { throw Unreachable() } }
        func admit(_ request: AdmissionRequest) async throws -> AdmissionDecision {
            try check()
            return try await inner.admit(request)
        }
        func settle(_ ticket: AdmissionTicket?, charge: UsageCharge) async throws {
            try check()
            try await inner.settle(ticket, charge: charge)
        }
        func usage(fromDay: String?) async throws -> [UsageLine] {
            try check()
            return try await inner.usage(fromDay: fromDay)
        }
        func reconcile(_ ticket: AdmissionTicket, actualTokens: Int, nowMillis: Int64) async throws {
            try check()
            try await inner.reconcile(ticket, actualTokens: actualTokens, nowMillis: nowMillis)
        }
    }

    static let scope = AdmissionScope(id: "key:k1", limits: LimitSettings(requestsPerMinute: 10))

    static func request(_ now: Int64 = 1_000_000) -> AdmissionRequest {
        AdmissionRequest(scopes: [scope], estimatedTokens: 10, estimatedCostUSD: 0, nowMillis: now)
    }

    static func charge() -> UsageCharge {
        UsageCharge(
            caller: "key:k1", team: nil, model: "smart", usage: TokenUsage(promptTokens: 3, completionTokens: 4),
            costUSD: 0.5, nowMillis: 1_000_000)
    }

    static func admitted(_ decision: AdmissionDecision) -> AdmissionTicket? {
        if case .admitted(let ticket) = decision { return ticket }
        return nil
    }

    @Test func localFallsBackToTheHostsShareAndResumesTheFleetCount() async throws {
        let fleet = Switchable()
        let local = InMemoryAdmissionStore()
        let store = FleetAdmissionStore(
            fleet: fleet, local: local, onError: .local, localShare: 0.5, logger: Logger(label: "test"))
        #expect(Self.admitted(try await store.admit(Self.request()))?.chargedLocally == false)
        fleet.down.withLock { $0 = true }
        var admitted = 0
        for _ in 0..<10 where Self.admitted(try await store.admit(Self.request())) != nil { admitted += 1 }
        // Half of rpm 10 on this host alone: a burst of 5.
        #expect(admitted == 5)
        #expect(store.isDegraded && store.fallbackCount == 10)
        // A local ticket settles locally, not on the fleet.
        let ticket = try #require(Self.admitted(try await local.admit(Self.request(2_000_000))))
        var localTicket = ticket
        localTicket.chargedLocally = true
        try await store.settle(localTicket, charge: Self.charge())
        #expect(try await local.usage(fromDay: nil).count == 1)
        fleet.down.withLock { $0 = false }
        #expect(Self.admitted(try await store.admit(Self.request()))?.chargedLocally == false)
        #expect(!store.isDegraded)
        #expect(try await fleet.inner.usage(fromDay: nil).isEmpty)
    }

    @Test func denyRefusesWhileTheFleetIsDown() async throws {
        let fleet = Switchable()
        let store = FleetAdmissionStore(
            fleet: fleet, local: InMemoryAdmissionStore(), onError: .deny, logger: Logger(label: "test"))
        fleet.down.withLock { $0 = true }
        await #expect(throws: Switchable.Unreachable.self) { try await store.admit(Self.request()) }
        fleet.down.withLock { $0 = false }
        #expect(Self.admitted(try await store.admit(Self.request())) != nil)
    }

    @Test func allowAdmitsAndCountsOnTheFleetWhenItReturns() async throws {
        let fleet = Switchable()
        let store = FleetAdmissionStore(
            fleet: fleet, local: InMemoryAdmissionStore(), onError: .allow, logger: Logger(label: "test"))
        fleet.down.withLock { $0 = true }
        let ticket = try #require(Self.admitted(try await store.admit(Self.request())))
        #expect(ticket.reservedTokens == 0 && !ticket.chargedLocally)
        try await store.settle(ticket, charge: Self.charge())
        try await store.settle(ticket, charge: Self.charge())
        #expect(store.pendingCount == 2)
        fleet.down.withLock { $0 = false }
        _ = try await store.admit(Self.request())
        #expect(store.pendingCount == 0)
        let lines = try await fleet.inner.usage(fromDay: nil)
        #expect(lines.count == 1 && lines.first?.requests == 2 && lines.first?.microUSD == 1_000_000)
    }

    @Test func theSharedSectionIsReadAndCheckedWithPaths() throws {
        let yaml = """
            providers:
              openai: { kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: x }
            models:
              - { name: smart, targets: [{ provider: openai, model: gpt-4o }] }
            shared:
              redis: "unix:///run/redis/redis.sock?db=2"
              username: llmgw
              password: env:REDIS_PASSWORD
              timeout: 100ms
              on_error: deny
              local_share: 0.25
            """
        let shared = try #require(try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml").shared)
        #expect(shared.redis == "unix:///run/redis/redis.sock?db=2")
        #expect(shared.password == .environment("REDIS_PASSWORD"))
        #expect(shared.timeout == .milliseconds(100) && shared.onError == .deny && shared.localShare == 0.25)
        for (change, message) in [
            (("unix:///run/redis/redis.sock?db=2", "redis://u:secret@h:6379/0"), "shared.redis: put the password in"),
            (("unix:///run/redis/redis.sock?db=2", "http://h"), "shared.redis: expected redis://"),
            (("on_error: deny", "on_error: maybe"), "shared.on_error: unknown value"),
            (("local_share: 0.25", "local_share: 2"), "shared.local_share: expected a fraction"),
            (("timeout: 100ms", "timeout: 1m"), "shared.timeout: expected between 1ms and 30s"),
        ] {
            do {
                _ = try GatewayConfiguration.parse(
                    yaml: yaml.replacingOccurrences(of: change.0, with: change.1), source: "c")
                Issue.record("accepted \(change.1)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
                #expect(!"\(error)".contains("secret"))
            }
        }
    }
}

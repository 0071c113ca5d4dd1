import Foundation
import GatewayCore
import Testing

@testable import RedisStore

@Suite(.enabled(if: RedisServerProcess.isInstalled, RedisServerProcess.notInstalled), .serialized)
struct RedisAdmissionStoreTests {
    /// A small deterministic generator (SplitMix64), so a failure replays.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let scopes = [
        AdmissionScope(id: "key:abc", limits: LimitSettings(requestsPerMinute: 6, tokensPerMinute: 2000)),
        AdmissionScope(
            id: "team:research/ml",
            limits: LimitSettings(tokensPerMinute: 5000, budget: Budget(usd: 0.02, period: .day))),
        AdmissionScope(
            id: "target:openai/gpt-4o",
            limits: LimitSettings(requestsPerMinute: 9, budget: Budget(usd: 0.05, period: .month))),
    ]

    /// The same admissions, settlements and reconciliations through the Redis scripts (at the
    /// same fixed instants) and through `AdmissionLedger` in memory give the same decisions,
    /// tickets and usage: across a day and a month boundary and a clock stepped back (repairs).
    @Test(arguments: [1, 2, 3] as [UInt64])
    func decisionsMatchTheLedger(seed: UInt64) async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.shutdown() }
        let redis = RedisAdmissionStore(client: client, prefix: "llmgw:", clock: .callerForTesting)
        let ledger: any AdmissionStore = InMemoryAdmissionStore()
        var random = SeededGenerator(state: seed)
        // 2026-11-30T23:57:00Z: the run crosses midnight and the end of the month.
        var now: Int64 = 1_796_083_020_000
        var admitted = 0
        var refused = 0
        for step in 0..<300 {
            now += Int64.random(in: 0...4000, using: &random)
            if step == 150 { now -= 150_000 }  // the wall clock steps back: TATs far ahead get repaired
            let scopes = Self.scopes.shuffled(using: &random).prefix(Int.random(in: 1...3, using: &random))
            let request = AdmissionRequest(
                scopes: Array(scopes), estimatedTokens: Int.random(in: 10...900, using: &random),
                estimatedCostUSD: Double(Int.random(in: 0...3000, using: &random)) / 1_000_000, nowMillis: now)
            let expected = try await ledger.admit(request)
            let actual = try await redis.admit(request)
            #expect(actual == expected, "step \(step)")
            guard case .admitted(let ticket) = expected else {
                refused += 1
                continue
            }
            admitted += 1
            let charge = UsageCharge(
                caller: "key:abc", team: step % 3 == 0 ? nil : "research/ml", model: "smart%/x",
                usage: TokenUsage(
                    promptTokens: Int.random(in: 0...600, using: &random),
                    completionTokens: Int.random(in: 0...600, using: &random)),
                costUSD: Double(Int.random(in: 0...4000, using: &random)) / 1_000_000, nowMillis: now + 700)
            if step % 4 == 0 {
                let quota = QuotaReconciliation(
                    ticket: ticket, actualTokens: Int.random(in: 0...900, using: &random), nowMillis: now + 700)
                try await ledger.finish(quotas: [quota], caller: ticket, charge: charge)
                try await redis.finish(quotas: [quota], caller: ticket, charge: charge)
            } else {
                try await ledger.settle(ticket, charge: charge)
                try await redis.settle(ticket, charge: charge)
            }
        }
        #expect(admitted > 20 && refused > 20, "the sequence exercises both outcomes")
        #expect(try await redis.usage(fromDay: nil) == (try await ledger.usage(fromDay: nil)))
        #expect(try await redis.usage(fromDay: "2026-12-01") == (try await ledger.usage(fromDay: "2026-12-01")))
    }

    /// Two "hosts" (two clients, two stores) on one Redis: a key of rpm N admits exactly N of 4N
    /// concurrent requests, on the server's clock.
    @Test func twoHostsAdmitExactlyTheLimit() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let hosts = (0..<2).map { _ in RedisClient(endpoint: server.endpoint) }
        defer { hosts.forEach { $0.shutdown() } }
        let stores = hosts.map { RedisAdmissionStore(client: $0) }
        for store in stores { try await store.check() }
        let limit = 50
        let scope = AdmissionScope(id: "key:shared", limits: LimitSettings(requestsPerMinute: limit))
        let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<(4 * limit) {
                group.addTask {
                    let request = AdmissionRequest(
                        scopes: [scope], estimatedTokens: 10, estimatedCostUSD: 0, nowMillis: 0)
                    if case .admitted = try await stores[index % 2].admit(request) { return true }
                    return false
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(admitted == limit)

        // The ticket carries the server's instant, not the request's `nowMillis` (0 here).
        let request = AdmissionRequest(
            scopes: [AdmissionScope(id: "key:other", limits: LimitSettings(requestsPerMinute: 1))], estimatedTokens: 1,
            estimatedCostUSD: 0, nowMillis: 0)
        guard case .admitted(let ticket) = try await stores[0].admit(request) else {
            Issue.record("a fresh key must be admitted")
            return
        }
        let wallMillis = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(abs(ticket.admittedAtMillis - wallMillis) < 60_000)
    }

    /// A team budget spent through one host is refused on both.
    @Test func aSpentTeamBudgetIsRefusedEverywhere() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let hosts = (0..<2).map { _ in RedisClient(endpoint: server.endpoint) }
        defer { hosts.forEach { $0.shutdown() } }
        let stores = hosts.map { RedisAdmissionStore(client: $0) }
        let team = AdmissionScope(id: "team:ml", limits: LimitSettings(budget: Budget(usd: 0.01, period: .month)))
        let request = AdmissionRequest(scopes: [team], estimatedTokens: 100, estimatedCostUSD: 0.002, nowMillis: 0)
        var spentOn = 0
        while case .admitted(let ticket) = try await stores[spentOn % 2].admit(request) {
            let charge = UsageCharge(
                caller: "key:k\(spentOn % 2)", team: "ml", model: "smart",
                usage: TokenUsage(promptTokens: 5, completionTokens: 5),
                costUSD: 0.003, nowMillis: 0)
            try await stores[spentOn % 2].settle(ticket, charge: charge)
            spentOn += 1
            #expect(spentOn < 10, "the budget must run out")
            if spentOn >= 10 { return }
        }
        #expect(spentOn == 4)  // 0.003 a request: 0.009 spent still admits, 0.012 does not
        for store in stores {
            guard case .budgetExceeded(let scope, _, let spent) = try await store.admit(request) else {
                Issue.record("a spent budget must be refused on every host")
                continue
            }
            #expect(scope == "team:ml")
            #expect(abs(spent - 0.012) < 1e-9)
        }
        let usage = try await stores[0].usage(fromDay: nil)
        #expect(usage.map(\.requests).reduce(0, +) == 4)
        #expect(usage.map(\.microUSD).reduce(0, +) == 12_000)
        // The usage day is the server's (today), not the charges' `nowMillis` (1970).
        let today = BudgetPeriod.day.identifier(atMillis: Int64(Date().timeIntervalSince1970 * 1000))
        #expect(usage.map(\.day) == [today, today])
        #expect(try await stores[1].usage(fromDay: today).count == 2)
        #expect(try await stores[1].usage(fromDay: "9999-01-01").isEmpty)
    }

    /// Every key the store writes carries a TTL.
    @Test func everyKeyExpires() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.shutdown() }
        let store = RedisAdmissionStore(client: client, prefix: "fleet:")
        let request = AdmissionRequest(
            scopes: Self.scopes, estimatedTokens: 100, estimatedCostUSD: 0.001, nowMillis: 0)
        guard case .admitted(let ticket) = try await store.admit(request) else {
            Issue.record("the first request must be admitted")
            return
        }
        try await store.settle(
            ticket,
            charge: UsageCharge(
                caller: "key:abc", team: "research/ml", model: "smart",
                usage: TokenUsage(promptTokens: 300, completionTokens: 100), costUSD: 0.004, nowMillis: 0))
        guard let keys = try await client.command(["KEYS", "*"]).array?.compactMap(\.text) else {
            Issue.record("KEYS must answer an array")
            return
        }
        #expect(keys.count == 7)  // rpm ×2, tpm ×2, budget ×2, one usage line
        for key in keys {
            #expect(key.hasPrefix("fleet:"))
            let ttl = try await client.command(["PTTL", key]).integer ?? -1
            #expect(ttl > 0, "\(key) has no TTL")
        }
    }
}

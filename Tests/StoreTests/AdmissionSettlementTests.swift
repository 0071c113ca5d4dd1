import Foundation
import GatewayCore
import Testing

@testable import Store

/// `finish` settles a whole request in one transaction on LMDB: provider quotas reconciled to what
/// each target served and the caller's ticket to the real usage. The shared store and the
/// in-memory one (whose `finish` is one call after another) give the same decisions afterwards.
@Suite struct AdmissionSettlementTests {
    private static let now: Int64 = 1_800_000_000_000

    private static func scope(_ id: String) -> AdmissionScope {
        AdmissionScope(id: id, limits: LimitSettings(tokensPerMinute: 1_000))
    }

    private static func ticket(_ store: some AdmissionStore, _ id: String, tokens: Int) async throws -> AdmissionTicket?
    {
        let decision = try await store.admit(
            AdmissionRequest(scopes: [scope(id)], estimatedTokens: tokens, estimatedCostUSD: 0, nowMillis: now))
        guard case .admitted(let ticket) = decision else { return nil }
        return ticket
    }

    /// Reserve 600 tokens on a key and on two targets; one target serves 10 tokens, the other none.
    /// After `finish`, 900 more fit everywhere; without the reconciliation they would not.
    private static func exercise(_ store: some AdmissionStore) async throws -> [Bool] {
        let key = try #require(try await ticket(store, "key:k", tokens: 600))
        let served = try #require(try await ticket(store, "target:a", tokens: 600))
        let failed = try #require(try await ticket(store, "target:b", tokens: 600))
        try await store.finish(
            quotas: [
                QuotaReconciliation(ticket: served, actualTokens: 10, nowMillis: now),
                QuotaReconciliation(ticket: failed, actualTokens: 0, nowMillis: now),
            ],
            caller: key,
            charge: UsageCharge(
                caller: "key:k", team: nil, model: "smart", usage: TokenUsage(promptTokens: 4, completionTokens: 6),
                costUSD: 0.01, nowMillis: now))
        var fits: [Bool] = []
        for id in ["key:k", "target:a", "target:b"] {
            fits.append(try await ticket(store, id, tokens: 900) != nil)
        }
        let usage = try await store.usage(fromDay: nil)
        #expect(usage.map(\.requests) == [1])
        #expect(usage.map(\.promptTokens) == [4])
        return fits
    }

    @Test func oneTransactionSettlesQuotasAndCallerAlike() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-settle-\(UUID().uuidString.prefix(8))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let layout = try SharedStateLayout(
            path: path, mapSizeBytes: 64 << 20, maxReaders: 64, durability: .relaxed, fileMode: 0o600,
            timeout: .seconds(2))
        let shared = try await Self.exercise(LMDBAdmissionStore(executor: layout.volatile))
        let inMemory = try await Self.exercise(InMemoryAdmissionStore())
        #expect(shared == [true, true, true])
        #expect(shared == inMemory)
    }
}

import Foundation
import GatewayCore
import Testing

@testable import Store

/// Volatile state is wiped after a machine restart (it was not synced); keys, teams and the
/// spend checkpoint survive it, and a new volatile environment starts from the checkpoint.
@Suite(.serialized) struct SharedStateLayoutTests {
    private let path = FileManager.default.temporaryDirectory.appendingPathComponent(
        "llmgw-layout-\(UUID().uuidString.prefix(8))"
    ).path

    private func open(_ durability: LMDBEnvironment.Durability = .relaxed) throws -> SharedStateLayout {
        try SharedStateLayout(
            path: path, mapSizeBytes: 64 << 20, maxReaders: 64, durability: durability, fileMode: 0o600,
            timeout: .seconds(2))
    }

    private let day: Int64 = 1_800_000_000_000

    /// Writes a key, a budget charge, a usage line and a cache-like counter; checkpoints.
    private func populate(_ layout: SharedStateLayout) async throws {
        let keys = LMDBKeyStore(executor: layout.durable)
        try await keys.insert(
            VirtualKeyRecord(
                publicID: "abcdefabcdef", name: "kept", team: nil, secretHash: [1, 2, 3], allowedModels: nil,
                limits: LimitSettings(), createdAtMillis: 0))
        let admission = LMDBAdmissionStore(executor: layout.volatile)
        let scope = AdmissionScope(
            id: "key:abcdefabcdef",
            limits: LimitSettings(requestsPerMinute: 2, budget: Budget(usd: 10, period: .day)))
        let decision = try await admission.admit(
            AdmissionRequest(scopes: [scope], estimatedTokens: 10, estimatedCostUSD: 0.5, nowMillis: day))
        guard case .admitted(let ticket) = decision else {
            Issue.record("not admitted: \(decision)")
            return
        }
        try await admission.settle(
            ticket,
            charge: UsageCharge(
                caller: "key:abcdefabcdef", team: nil, model: "smart",
                usage: TokenUsage(promptTokens: 5, completionTokens: 5), costUSD: 0.25, nowMillis: day))
        #expect(try await layout.checkpointSpend(nowMillis: day) > 0)
        #expect(try await layout.checkpointSpend(nowMillis: day) == 0, "an unchanged checkpoint writes nothing")
    }

    private func rpmCounter(_ layout: SharedStateLayout) async throws -> [UInt8]? {
        let limits = layout.volatile.environment.database("limits")
        return try await layout.volatile.read { try $0.get(limits, Array("rpm/key:abcdefabcdef".utf8)) }
    }

    @Test func aMachineRestartWipesVolatileStateAndKeepsKeysAndSpend() async throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let layout = try open()
            try await populate(layout)
            #expect(try await rpmCounter(layout) != nil)
        }
        // Another boot since: the volatile environment may be torn.
        try "00000000-0000-0000-0000-000000000000\n".write(toFile: path + "/boot_id", atomically: true, encoding: .utf8)
        let reopened = try open()
        #expect(reopened.notes.contains { $0.contains("machine restarted") })
        #expect(try await rpmCounter(reopened) == nil, "rate-limit counters are reset")
        #expect(try await LMDBKeyStore(executor: reopened.durable).key(publicID: "abcdefabcdef")?.name == "kept")
        let usage = try await LMDBAdmissionStore(executor: reopened.volatile).usage(fromDay: nil)
        #expect(usage.count == 1)
        #expect(usage.first?.requests == 1)
        #expect(usage.first?.microUSD == 250_000)
        let spend = reopened.volatile.environment.database("spend")
        let budgetKey = AdmissionLedger.budgetKey("key:abcdefabcdef", .day, day)
        let budget = try await reopened.volatile.read { try $0.get(spend, Array(budgetKey.utf8)) }
        #expect(budget.flatMap(Int64.init(littleEndianBytes:)) == 250_000, "budget spend is seeded")
    }

    @Test func theCheckpointKeepsUsageAsLongAsTheLiveTotals() async throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        let layout = try open()
        try await populate(layout)
        let tomorrow = BudgetPeriod.day.identifier(atMillis: day + 86_400_000)
        #expect(try await layout.pruneCheckpoint(before: tomorrow, limit: 100) == 1)
        #expect(try await LMDBAdmissionStore(executor: layout.volatile).pruneUsage(before: tomorrow, limit: 100) == 1)
        #expect(try await LMDBAdmissionStore(executor: layout.volatile).usage(fromDay: nil).isEmpty)
    }

    @Test func theSameBootKeepsEverything() async throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let layout = try open()
            try await populate(layout)
        }
        let reopened = try open()
        #expect(reopened.notes.isEmpty)
        #expect(try await rpmCounter(reopened) != nil)
    }

    @Test func fullDurabilityNeverWipes() async throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let layout = try open(.full)
            try await populate(layout)
        }
        try "00000000-0000-0000-0000-000000000000\n".write(toFile: path + "/boot_id", atomically: true, encoding: .utf8)
        let reopened = try open(.full)
        #expect(try await rpmCounter(reopened) != nil)
    }

    @Test func keysOfTheSingleEnvironmentLayoutMoveToTheDurableOne() async throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            // What earlier versions wrote: keys in the one environment at state.path.
            let old = try LMDBEnvironment(.init(path: path, mapSizeBytes: 64 << 20))
            try old.withWriteTransaction {
                try $0.put(old.database("keys"), Array("team/legacy".utf8), Array(#"{"name":"legacy"}"#.utf8))
            }
        }
        let layout = try open()
        #expect(layout.notes.contains { $0.contains("moved 1 keys") })
        let keys = layout.durable.environment.database("keys")
        #expect(try await layout.durable.read { try $0.get(keys, Array("team/legacy".utf8)) } != nil)
    }

    /// The key store reuses a decoded record while its bytes are unchanged; a revocation or a new
    /// limit written by another sidecar (another store on the same files) is seen on the next read.
    @Test func aKeyChangedByAnotherSidecarIsReadAfresh() async throws {
        let layout = try open()
        let mine = LMDBKeyStore(executor: layout.durable)
        let theirs = LMDBKeyStore(executor: layout.durable)
        try await theirs.insert(
            VirtualKeyRecord(
                publicID: "abcdefabcdef", name: "k", secretHash: [1], limits: LimitSettings(requestsPerMinute: 5),
                createdAtMillis: 0))
        #expect(try await mine.key(publicID: "abcdefabcdef")?.revokedAtMillis == nil)
        #expect(try await mine.key(publicID: "abcdefabcdef")?.limits.requestsPerMinute == 5)
        #expect(try await theirs.revoke(publicID: "abcdefabcdef", atMillis: 42))
        #expect(try await mine.key(publicID: "abcdefabcdef")?.revokedAtMillis == 42)
        #expect(try await mine.key(publicID: "nosuchkeyxyz") == nil)
    }

    @Test func stateFilesAreOwnerOnly() throws {
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try open()
        for file in ["", "/data.mdb", "/lock.mdb", "/durable", "/durable/data.mdb", "/open.lock", "/boot_id"] {
            let attributes = try FileManager.default.attributesOfItem(atPath: path + file)
            let mode = (attributes[.posixPermissions] as? Int) ?? -1
            #expect(mode & 0o077 == 0, "\(file) is \(String(mode, radix: 8))")
        }
    }
}

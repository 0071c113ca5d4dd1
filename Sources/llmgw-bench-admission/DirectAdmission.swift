import GatewayCore
import Store

/// A diagnostic twin of `AdmissionBenchmark.request()`: the same four write transactions with
/// the same counter updates as `LMDBAdmissionStore`, but run straight on the calling thread with
/// `LMDBEnvironment.withWriteTransaction`, without `LMDBExecutor`'s thread hand-over. The gateway
/// never does this (a peer stopped inside the writer lock would freeze the caller); it shows how
/// much of a request's cost is LMDB itself and how much the hand-over to the writer thread.
struct DirectAdmission {
    let environment: LMDBEnvironment
    let benchmark: AdmissionBenchmark

    /// `CounterTable` over one write transaction, keyed as `LMDBAdmissionStore` keys counters.
    private struct Table: CounterTable {
        let transaction: LMDBTransaction
        let limits: LMDBDatabase
        let spend: LMDBDatabase

        func database(for key: String) -> LMDBDatabase {
            key.hasPrefix("rpm/") || key.hasPrefix("tpm/") ? limits : spend
        }

        func read(_ key: String) throws -> Int64? {
            guard let bytes = try transaction.get(database(for: key), Array(key.utf8)), bytes.count == 8 else {
                return nil
            }
            return DirectAdmission.unpack(bytes).first
        }

        func write(_ key: String, _ value: Int64) throws {
            try transaction.put(database(for: key), Array(key.utf8), DirectAdmission.pack([value]))
        }
    }

    /// Runs requests one after another until `deadline` or `count`.
    func run(until deadline: ContinuousClock.Instant, count: Int?) -> AdmissionBenchmark.Tally {
        var tally = AdmissionBenchmark.Tally()
        while count.map({ tally.admitted + tally.refused + tally.errors < $0 }) ?? (ContinuousClock.now < deadline) {
            do {
                tally.count(try request() ? .admitted : .refused)
            } catch {
                tally.count(.failed(error))
            }
        }
        return tally
    }

    private func request() throws -> Bool {
        let now = AdmissionBenchmark.nowMillis()
        guard case .admitted(let keyTicket) = try admit([benchmark.keyScope], AdmissionBenchmark.estimatedCostUSD, now)
        else { return false }
        if let targetScope = benchmark.targetScope {
            guard case .admitted(let targetTicket) = try admit([targetScope], 0, now) else { return false }
            try write { table, _ in
                try AdmissionLedger.settle(
                    targetTicket, actualTokens: AdmissionBenchmark.usage.totalTokens,
                    actualCostUSD: Double(targetTicket.reservedMicroUSD) / 1_000_000,
                    nowMillis: AdmissionBenchmark.nowMillis(), in: table)
            }
        }
        let charge = UsageCharge(
            caller: benchmark.caller, team: nil, model: benchmark.model, usage: AdmissionBenchmark.usage,
            costUSD: AdmissionBenchmark.costUSD, nowMillis: AdmissionBenchmark.nowMillis())
        try write { table, transaction in
            try AdmissionLedger.settle(
                keyTicket, actualTokens: charge.usage.totalTokens, actualCostUSD: charge.costUSD,
                nowMillis: charge.nowMillis, in: table)
            let key = Array(UsageLine.adding(charge, to: nil).key.utf8)
            let existing = try transaction.get(table.spend, key).flatMap {
                UsageLine(key: String(decoding: key, as: UTF8.self), values: Self.unpack($0))
            }
            try transaction.put(table.spend, key, Self.pack(UsageLine.adding(charge, to: existing).values))
        }
        return true
    }

    private func admit(_ scopes: [AdmissionScope], _ cost: Double, _ now: Int64) throws -> AdmissionDecision {
        try write { table, _ in
            try AdmissionLedger.admit(
                AdmissionRequest(
                    scopes: scopes, estimatedTokens: AdmissionBenchmark.estimatedTokens, estimatedCostUSD: cost,
                    nowMillis: now),
                in: table)
        }
    }

    private func write<T>(_ body: (Table, LMDBTransaction) throws -> T) throws -> T {
        let limits = environment.database("limits")
        let spend = environment.database("spend")
        return try environment.withWriteTransaction { transaction in
            try body(Table(transaction: transaction, limits: limits, spend: spend), transaction)
        }
    }

    /// Consecutive little-endian Int64s, as the state stores counters.
    static func unpack(_ bytes: [UInt8]) -> [Int64] {
        stride(from: 0, to: bytes.count - 7, by: 8).map { start in
            bytes[start..<start + 8].reversed().reduce(Int64(0)) { $0 << 8 | Int64($1) }
        }
    }

    static func pack(_ values: [Int64]) -> [UInt8] {
        values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: value) >> (8 * $0)) } }
    }
}

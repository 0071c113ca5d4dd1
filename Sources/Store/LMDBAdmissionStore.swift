import GatewayCore

/// Rate limits, budgets and usage totals in the shared LMDB environment. `admit` runs the whole
/// check-and-charge in ONE write transaction; LMDB serialises writers across processes, so
/// sidecars sharing `state.path` can never over-admit together.
///
/// GCRA state (`rpm/…`, `tpm/…`) lives in `limits`; budget spend (`budget/…`) and usage totals
/// (`usage/…`) in `spend`. Values are little-endian Int64s.
public final class LMDBAdmissionStore: SettlesInOneStep {
    private let executor: LMDBExecutor
    private let limits: LMDBDatabase
    private let spend: LMDBDatabase

    public init(executor: LMDBExecutor) {
        self.executor = executor
        self.limits = executor.environment.database("limits")
        self.spend = executor.environment.database("spend")
    }

    private struct Table: CounterTable {
        let transaction: LMDBTransaction
        let limits: LMDBDatabase
        let spend: LMDBDatabase

        func database(for key: String) -> LMDBDatabase {
            key.hasPrefix("rpm/") || key.hasPrefix("tpm/") ? limits : spend
        }

        func read(_ key: String) throws -> Int64? {
            try transaction.get(database(for: key), Array(key.utf8)).flatMap(Int64.init(littleEndianBytes:))
        }

        func write(_ key: String, _ value: Int64) throws {
            try transaction.put(database(for: key), Array(key.utf8), value.littleEndianBytes)
        }
    }

    public func admit(_ request: AdmissionRequest) async throws -> AdmissionDecision {
        // Committed whatever the decision: a refusal charges nothing and writes only repairs.
        try await executor.write { [limits, spend] transaction in
            try AdmissionLedger.admit(request, in: Table(transaction: transaction, limits: limits, spend: spend))
        }
    }

    /// One detached write transaction for the whole settlement of a request (quotas, caller,
    /// totals): one commit and one hand-over to the writer instead of one per ticket. Detached:
    /// once queued, the settlement commits even if the writer lock is held by a stopped peer for
    /// longer than the caller waits, so no usage is lost.
    public func finish(quotas: [QuotaReconciliation], caller: AdmissionTicket?, charge: UsageCharge?) async throws {
        try await executor.writeDetached { [limits, spend] transaction in
            let table = Table(transaction: transaction, limits: limits, spend: spend)
            for quota in quotas {
                // A quota has no cost of its own: what was reserved stays charged.
                try AdmissionLedger.settle(
                    quota.ticket,
                    actualTokens: quota.actualTokens,
                    actualCostUSD: Double(quota.ticket.reservedMicroUSD) / 1_000_000,
                    nowMillis: quota.nowMillis,
                    in: table
                )
            }
            guard let charge else { return }
            if let caller {
                try AdmissionLedger.settle(
                    caller,
                    actualTokens: charge.usage.totalTokens,
                    actualCostUSD: charge.costUSD,
                    nowMillis: charge.nowMillis,
                    in: table
                )
            }
            let fresh = UsageLine.adding(charge, to: nil)
            let key = Array(fresh.key.utf8)
            // The stored totals belong to this very key: no need to parse it back.
            let existing = try transaction.get(spend, key).flatMap { fresh.withTotals(Int64.unpack($0)) }
            let line = UsageLine.adding(charge, to: existing)
            try transaction.put(spend, key, line.values.flatMap(\.littleEndianBytes))
        }
    }

    public func usage(fromDay: String?) async throws -> [UsageLine] {
        try await executor.read { [spend] transaction in
            var lines: [UsageLine] = []
            let prefix = Array("usage/".utf8)
            try transaction.forEach(spend, from: Array("usage/\(fromDay ?? "")".utf8)) { key, value in
                guard key.starts(with: prefix) else { return false }
                if let line = UsageLine(key: String(decoding: key, as: UTF8.self), values: Int64.unpack(value)) {
                    lines.append(line)
                }
                return true
            }
            return lines
        }
    }

    /// The spend recorded against each budget counter key (`AdmissionLedger.budgetKey`), in
    /// micro-USD (0 when none), from one read transaction.
    public func budgetSpent(_ keys: [String]) async throws -> [Int64] {
        try await executor.read { [spend] transaction in
            try keys.map { try transaction.get(spend, Array($0.utf8)).flatMap(Int64.init(littleEndianBytes:)) ?? 0 }
        }
    }

    /// Deletes usage lines of days before `day` (`YYYY-MM-DD`), at most `limit` in one write
    /// transaction; returns how many went. Keys sort by day, so the oldest come first.
    public func pruneUsage(before day: String, limit: Int) async throws -> Int {
        try await Self.pruneUsage(in: executor, spend, before: day, limit: limit)
    }

    /// `pruneUsage` on any environment's spend database (the durable checkpoint too).
    static func pruneUsage(
        in executor: LMDBExecutor, _ spend: LMDBDatabase, before day: String, limit: Int
    ) async throws -> Int {
        try await executor.write { transaction in
            var doomed: [[UInt8]] = []
            let prefix = Array("usage/".utf8)
            let end = Array("usage/\(day)".utf8)
            try transaction.forEach(spend, from: prefix) { key, _ in
                guard key.starts(with: prefix), key.lexicographicallyPrecedes(end), doomed.count < limit else {
                    return false
                }
                doomed.append(key)
                return true
            }
            for key in doomed { try transaction.delete(spend, key) }
            return doomed.count
        }
    }
}

extension Int64 {
    /// Consecutive little-endian Int64s, as the state stores counters.
    static func unpack(_ bytes: [UInt8]) -> [Int64] {
        stride(from: 0, to: bytes.count - 7, by: 8).compactMap { Int64(littleEndianBytes: Array(bytes[$0..<$0 + 8])) }
    }

    init?(littleEndianBytes bytes: [UInt8]) {
        guard bytes.count == 8 else { return nil }
        var value: UInt64 = 0
        for (index, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * UInt64(index)) }
        self = Int64(bitPattern: value)
    }

    var littleEndianBytes: [UInt8] {
        let bits = UInt64(bitPattern: self)
        return (0..<8).map { UInt8(truncatingIfNeeded: bits >> (8 * UInt64($0))) }
    }
}

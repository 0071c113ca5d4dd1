import Synchronization

/// What a finished request used, for budgets and for `llmgw usage`.
public struct UsageCharge: Sendable, Equatable {
    /// `key:<id>`, `peer:uid=N` or `anonymous`.
    public var caller: String
    public var team: String?
    /// The model alias the client asked for.
    public var model: String
    public var usage: TokenUsage
    public var costUSD: Double
    public var nowMillis: Int64

    public init(caller: String, team: String?, model: String, usage: TokenUsage, costUSD: Double, nowMillis: Int64) {
        self.caller = caller
        self.team = team
        self.model = model
        self.usage = usage
        self.costUSD = costUSD
        self.nowMillis = nowMillis
    }
}

/// One line of `llmgw usage`: totals for a day, caller, team and model.
public struct UsageLine: Sendable, Equatable {
    public var day: String
    public var caller: String
    public var team: String
    public var model: String
    public var requests: Int64
    public var promptTokens: Int64
    public var completionTokens: Int64
    public var microUSD: Int64

    /// The counter key: `usage/<day>/<caller>/<team>/<model>`, each part with `%` and `/`
    /// percent-encoded (team and model names may contain `/`).
    public var key: String {
        "usage/\(day)/\(Self.escape(caller))/\(Self.escape(team))/\(Self.escape(model))"
    }

    static func escape(_ part: String) -> String {
        guard part.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "/") }) else { return part }
        var escaped = ""
        for character in part {
            switch character {
            case "%": escaped += "%25"
            case "/": escaped += "%2F"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    static func unescape(_ part: Substring) -> String {
        // Not `part.contains("%")`: that is Foundation's substring search, ten times the cost.
        guard part.utf8.contains(UInt8(ascii: "%")) else { return String(part) }
        var result = ""
        var rest = part[...]
        while let percent = rest.firstIndex(of: "%") {
            result += rest[..<percent]
            let code = rest[percent...].prefix(3)
            switch code {
            case "%2F": result += "/"
            case "%25": result += "%"
            default: result += code
            }
            rest = rest[rest.index(percent, offsetBy: code.count)...]
        }
        return result + rest
    }
}

/// Rate limits, budgets and spend, shared by every sidecar (LMDB) or in memory for tests.
public protocol AdmissionStore: Sendable {
    /// Checks and charges all limits of `request` atomically.
    func admit(_ request: AdmissionRequest) async throws -> AdmissionDecision
    /// Reconciles a ticket (when there was one) with the real usage and adds it to the totals.
    func settle(_ ticket: AdmissionTicket?, charge: UsageCharge) async throws
    /// Usage totals, optionally only from `fromDay` (`YYYY-MM-DD`) on.
    func usage(fromDay: String?) async throws -> [UsageLine]
    /// Corrects a ticket's reservation without adding to the usage totals (provider quotas).
    func reconcile(_ ticket: AdmissionTicket, actualTokens: Int, nowMillis: Int64) async throws
    /// Everything a finished request settles, in one transaction where the store can: each provider
    /// quota reconciled (`reconcile`), then the caller's ticket and the usage totals (`settle`).
    func finish(quotas: [QuotaReconciliation], caller: AdmissionTicket?, charge: UsageCharge?) async throws
}

/// A provider-quota ticket and the tokens its target really served (none for targets that failed).
public struct QuotaReconciliation: Sendable, Equatable {
    public var ticket: AdmissionTicket
    public var actualTokens: Int
    public var nowMillis: Int64

    public init(ticket: AdmissionTicket, actualTokens: Int, nowMillis: Int64) {
        self.ticket = ticket
        self.actualTokens = actualTokens
        self.nowMillis = nowMillis
    }
}

extension AdmissionStore {
    /// One call after another; a failed quota reconciliation does not keep the caller unsettled.
    public func finish(quotas: [QuotaReconciliation], caller: AdmissionTicket?, charge: UsageCharge?) async throws {
        for quota in quotas {
            try? await reconcile(quota.ticket, actualTokens: quota.actualTokens, nowMillis: quota.nowMillis)
        }
        if let charge { try await settle(caller, charge: charge) }
    }
}

/// A store whose whole settlement of a request is one step (`finish`): `settle` and `reconcile`
/// are that step with only the caller's ticket or only one provider quota.
public protocol SettlesInOneStep: AdmissionStore {}

extension SettlesInOneStep {
    public func settle(_ ticket: AdmissionTicket?, charge: UsageCharge) async throws {
        try await finish(quotas: [], caller: ticket, charge: charge)
    }

    public func reconcile(_ ticket: AdmissionTicket, actualTokens: Int, nowMillis: Int64) async throws {
        try await finish(
            quotas: [QuotaReconciliation(ticket: ticket, actualTokens: actualTokens, nowMillis: nowMillis)],
            caller: nil, charge: nil)
    }
}

extension UsageLine {
    public static func adding(_ charge: UsageCharge, to existing: UsageLine?) -> UsageLine {
        var line =
            existing
            ?? UsageLine(
                day: BudgetPeriod.day.identifier(atMillis: charge.nowMillis),
                caller: charge.caller,
                team: charge.team ?? "-",
                model: charge.model,
                requests: 0,
                promptTokens: 0,
                completionTokens: 0,
                microUSD: 0
            )
        line.requests = line.requests.addingSaturating(1)
        line.promptTokens = line.promptTokens.addingSaturating(Int64(max(0, charge.usage.promptTokens)))
        line.completionTokens = line.completionTokens.addingSaturating(Int64(max(0, charge.usage.completionTokens)))
        line.microUSD = line.microUSD.addingSaturating(
            max(0, Int64(saturating: (charge.costUSD * 1_000_000).rounded())))
        return line
    }

    /// Parses a counter key written by `key`.
    public init?(key: String, values: [Int64]) {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "usage", values.count == 4 else { return nil }
        self.init(
            day: String(parts[1]),
            caller: Self.unescape(parts[2]),
            team: Self.unescape(parts[3]),
            model: Self.unescape(parts[4]),
            requests: values[0],
            promptTokens: values[1],
            completionTokens: values[2],
            microUSD: values[3]
        )
    }

    public var values: [Int64] { [requests, promptTokens, completionTokens, microUSD] }

    /// This line's day, caller, team and model with totals read back from the store (`values`
    /// order); nil unless there are four.
    public func withTotals(_ totals: [Int64]) -> UsageLine? {
        guard totals.count == 4 else { return nil }
        var line = self
        line.requests = totals[0]
        line.promptTokens = totals[1]
        line.completionTokens = totals[2]
        line.microUSD = totals[3]
        return line
    }
}

/// The in-memory `AdmissionStore`, for unit tests and for running without shared state.
public final class InMemoryAdmissionStore: AdmissionStore {
    private struct State {
        var counters: [String: Int64] = [:]
        var usage: [String: UsageLine] = [:]
    }

    private struct Table: CounterTable {
        let read: (String) -> Int64?
        let write: (String, Int64) -> Void
        func read(_ key: String) throws -> Int64? { read(key) }
        func write(_ key: String, _ value: Int64) throws { write(key, value) }
    }

    private let state = Mutex(State())

    public init() {}

    public func admit(_ request: AdmissionRequest) throws -> AdmissionDecision {
        try state.withLock { state in
            var counters = state.counters
            let decision = try AdmissionLedger.admit(
                request,
                in: Table(read: { counters[$0] }, write: { counters[$0] = $1 })
            )
            state.counters = counters
            return decision
        }
    }

    public func settle(_ ticket: AdmissionTicket?, charge: UsageCharge) throws {
        try state.withLock { state in
            if let ticket {
                var counters = state.counters
                try AdmissionLedger.settle(
                    ticket,
                    actualTokens: charge.usage.totalTokens,
                    actualCostUSD: charge.costUSD,
                    nowMillis: charge.nowMillis,
                    in: Table(read: { counters[$0] }, write: { counters[$0] = $1 })
                )
                state.counters = counters
            }
            let line = UsageLine.adding(charge, to: nil)
            state.usage[line.key] = UsageLine.adding(charge, to: state.usage[line.key])
        }
    }

    public func reconcile(_ ticket: AdmissionTicket, actualTokens: Int, nowMillis: Int64) throws {
        try state.withLock { state in
            var counters = state.counters
            try AdmissionLedger.settle(
                ticket,
                actualTokens: actualTokens,
                actualCostUSD: Double(ticket.reservedMicroUSD) / 1_000_000,
                nowMillis: nowMillis,
                in: Table(read: { counters[$0] }, write: { counters[$0] = $1 })
            )
            state.counters = counters
        }
    }

    public func usage(fromDay: String?) throws -> [UsageLine] {
        state.withLock { state in
            state.usage.values.filter { fromDay == nil || $0.day >= fromDay! }.sorted { $0.key < $1.key }
        }
    }
}

/// Circuits in memory, for tests and for running without shared state.
public final class InMemoryCircuitStore: CircuitStore {
    private let circuits = Mutex<[String: CircuitState]>([:])

    public init() {}

    public func check(_ target: String, policy: CircuitPolicy, nowMillis: Int64) throws -> CircuitBreaker.Decision {
        circuits.withLock { circuits in
            let (decision, next) = CircuitBreaker.check(
                circuits[target] ?? CircuitState(), policy: policy, nowMillis: nowMillis)
            circuits[target] = next
            return decision
        }
    }

    public func record(_ target: String, success: Bool, policy: CircuitPolicy, nowMillis: Int64) throws {
        circuits.withLock { circuits in
            circuits[target] = CircuitBreaker.record(
                circuits[target] ?? CircuitState(),
                success: success,
                policy: policy,
                nowMillis: nowMillis
            )
        }
    }

    public func state(of target: String) throws -> CircuitState {
        circuits.withLock { $0[target] ?? CircuitState() }
    }
}

/// Target statistics in memory, for tests and for running without shared state.
public final class InMemoryTargetStatsStore: TargetStatsStore {
    private let state = Mutex<(latency: [String: Int64], busy: [String: Int])>(([:], [:]))

    public init() {}

    public func stats(for targets: [String]) throws -> [TargetStats] {
        state.withLock { state in
            targets.map { TargetStats(latencyMicros: state.latency[$0], inFlight: state.busy[$0] ?? 0) }
        }
    }

    public func recordLatency(_ target: String, micros: Int64) throws {
        state.withLock { $0.latency[target] = TargetOrdering.ewma($0.latency[target], micros) }
    }

    public func adjustInFlight(_ target: String, by delta: Int) throws {
        state.withLock { $0.busy[target] = max(0, ($0.busy[target] ?? 0) + delta) }
    }
}

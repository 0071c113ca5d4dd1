/// One scope a request is counted against, with its limits: `key:<id>`, `team:<name>`,
/// `target:<provider>/<model>`.
public struct AdmissionScope: Sendable, Equatable {
    public var id: String
    public var limits: LimitSettings

    public init(id: String, limits: LimitSettings) {
        self.id = id
        self.limits = limits
    }
}

public struct AdmissionRequest: Sendable {
    public var scopes: [AdmissionScope]
    /// Prompt estimate + max output tokens (or a default), reserved until the real usage is known.
    public var estimatedTokens: Int
    public var estimatedCostUSD: Double
    public var nowMillis: Int64

    public init(scopes: [AdmissionScope], estimatedTokens: Int, estimatedCostUSD: Double, nowMillis: Int64) {
        self.scopes = scopes
        self.estimatedTokens = estimatedTokens
        self.estimatedCostUSD = estimatedCostUSD
        self.nowMillis = nowMillis
    }
}

/// What was charged at admission, to be corrected at settlement.
public struct AdmissionTicket: Sendable, Equatable {
    public var scopes: [AdmissionScope]
    public var reservedTokens: Int
    public var reservedMicroUSD: Int64
    public var admittedAtMillis: Int64
    /// Remaining requests/tokens of the tightest scope, for `x-ratelimit-*` headers.
    public var remainingRequests: Int?
    public var remainingTokens: Int?
    public var limitRequests: Int?
    public var limitTokens: Int?
    /// Charged to this host's store while the fleet's (`shared:`) was unreachable: it settles there.
    public var chargedLocally = false

    public init(
        scopes: [AdmissionScope], reservedTokens: Int, reservedMicroUSD: Int64, admittedAtMillis: Int64,
        remainingRequests: Int? = nil, remainingTokens: Int? = nil, limitRequests: Int? = nil, limitTokens: Int? = nil
    ) {
        self.scopes = scopes
        self.reservedTokens = reservedTokens
        self.reservedMicroUSD = reservedMicroUSD
        self.admittedAtMillis = admittedAtMillis
        self.remainingRequests = remainingRequests
        self.remainingTokens = remainingTokens
        self.limitRequests = limitRequests
        self.limitTokens = limitTokens
    }
}

public enum AdmissionDecision: Sendable, Equatable {
    case admitted(AdmissionTicket)
    case rateLimited(scope: String, metric: String, limit: Int, retryAfterMillis: Int64)
    case budgetExceeded(scope: String, budget: Budget, spentUSD: Double)
}

/// The counters admission reads and writes, inside one transaction of the backing store.
public protocol CounterTable {
    func read(_ key: String) throws -> Int64?
    func write(_ key: String, _ value: Int64) throws
}

/// Checks and charges every limit of a request against one `CounterTable` transaction: either
/// everything is charged or nothing is (a refused request charges nothing). Backends run this
/// inside a single write transaction, so processes sharing the state can never over-admit, and
/// commit it whatever the decision: the only write a refusal can leave is a *repair*, a TAT that
/// lay more than a period ahead (the wall clock stepped back) brought back to one period ahead,
/// so the key recovers after one emission interval instead of after the size of the step.
///
/// Counters: `rpm/<scope>` and `tpm/<scope>` hold GCRA theoretical arrival times (µs);
/// `budget/<scope>/<period>` holds spend in micro-USD.
public enum AdmissionLedger {
    public static func admit(_ request: AdmissionRequest, in table: some CounterTable) throws -> AdmissionDecision {
        let nowMicros = request.nowMillis.multipliedSaturating(by: 1000)
        var writes: [(String, Int64)] = []
        var repairs: [(String, Int64)] = []
        /// The stored TAT, brought back to at most one period ahead of now.
        func stored(_ key: String) throws -> Int64 {
            let tat = try table.read(key) ?? 0
            let horizon = nowMicros.addingSaturating(60_000_000)
            guard tat > horizon else { return tat }
            repairs.append((key, horizon))
            return horizon
        }
        func refuse(_ decision: AdmissionDecision) throws -> AdmissionDecision {
            for (key, value) in repairs { try table.write(key, value) }
            return decision
        }
        var ticket = AdmissionTicket(
            scopes: request.scopes,
            reservedTokens: request.estimatedTokens,
            reservedMicroUSD: max(0, Int64(saturating: (request.estimatedCostUSD * 1_000_000).rounded(.up))),
            admittedAtMillis: request.nowMillis
        )
        for scope in request.scopes {
            if let rpm = scope.limits.requestsPerMinute {
                let key = "rpm/\(scope.id)"
                switch GCRA(limit: rpm).check(tat: try stored(key), cost: 1, now: nowMicros) {
                case .limited(let retry):
                    return try refuse(
                        .rateLimited(
                            scope: scope.id, metric: "requests", limit: rpm, retryAfterMillis: (retry + 999) / 1000))
                case .admitted(let tat, let remaining):
                    writes.append((key, tat))
                    if ticket.remainingRequests.map({ remaining < $0 }) ?? true {
                        ticket.remainingRequests = remaining
                        ticket.limitRequests = rpm
                    }
                }
            }
            if let tpm = scope.limits.tokensPerMinute {
                let key = "tpm/\(scope.id)"
                let cost = max(0, min(request.estimatedTokens, tpm))
                switch GCRA(limit: tpm).check(tat: try stored(key), cost: cost, now: nowMicros) {
                case .limited(let retry):
                    return try refuse(
                        .rateLimited(
                            scope: scope.id, metric: "tokens", limit: tpm, retryAfterMillis: (retry + 999) / 1000))
                case .admitted(let tat, let remaining):
                    writes.append((key, tat))
                    if ticket.remainingTokens.map({ remaining < $0 }) ?? true {
                        ticket.remainingTokens = remaining
                        ticket.limitTokens = tpm
                    }
                }
            }
            if let budget = scope.limits.budget {
                let key = budgetKey(scope.id, budget.period, request.nowMillis)
                let spent = try table.read(key) ?? 0
                let limit = Int64(saturating: (budget.usd * 1_000_000).rounded())
                // Admit while anything is left; the reservation itself may overshoot slightly.
                guard spent < limit else {
                    return try refuse(
                        .budgetExceeded(scope: scope.id, budget: budget, spentUSD: Double(spent) / 1_000_000))
                }
                writes.append((key, spent.addingSaturating(ticket.reservedMicroUSD)))
            }
        }
        for (key, value) in writes { try table.write(key, value) }
        return .admitted(ticket)
    }

    /// Corrects the reservation of `ticket` to the real tokens and cost.
    public static func settle(
        _ ticket: AdmissionTicket,
        actualTokens: Int,
        actualCostUSD: Double,
        nowMillis: Int64,
        in table: some CounterTable
    ) throws {
        let tokenDelta = max(0, actualTokens).addingSaturating(-ticket.reservedTokens)
        let costDelta = max(0, Int64(saturating: (actualCostUSD * 1_000_000).rounded())).addingSaturating(
            -ticket.reservedMicroUSD)
        for scope in ticket.scopes {
            if let tpm = scope.limits.tokensPerMinute, tokenDelta != 0 {
                let key = "tpm/\(scope.id)"
                if let tat = try table.read(key) {
                    try table.write(
                        key,
                        GCRA(limit: tpm).adjust(
                            tat: tat, delta: tokenDelta, now: nowMillis.multipliedSaturating(by: 1000)))
                }
            }
            if let budget = scope.limits.budget, costDelta != 0 {
                // Charged to the period of admission (a request straddling midnight stays in it).
                let key = budgetKey(scope.id, budget.period, ticket.admittedAtMillis)
                let spent = try table.read(key) ?? 0
                try table.write(key, max(0, spent.addingSaturating(costDelta)))
            }
        }
    }

    public static func budgetKey(_ scope: String, _ period: BudgetPeriod, _ millis: Int64) -> String {
        "budget/\(scope)/\(period.identifier(atMillis: millis))"
    }
}

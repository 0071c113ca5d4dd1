import GatewayCore
import Logging

/// What admission decided for a request; its ticket is reconciled in settlement.
struct Admission: Sendable {
    /// What was charged (nil when no limit applies).
    var ticket: AdmissionTicket?
    /// A budget applies to the caller: only targets with a price may serve it.
    var requiresPrice = false
    /// The caller's rate-limit state, for every response of the request.
    var headers: [(name: String, value: String)] = []
    /// Set when the request is over a limit or budget: answered with this error.
    var refusal: GatewayError?

    static let none = Admission()
}

/// A provider quota (`targets[].rpm/tpm`) as one attempt sees it.
enum TargetQuota: Sendable {
    /// The target has no quota, or the state is unavailable and `on_store_error: allow`.
    case open
    /// Charged; reconciled in settlement to the tokens the target really served.
    case admitted(label: String, ticket: AdmissionTicket)
    /// At its quota: skip the target. `attempt` says why, for the log.
    case full(retryAfterSeconds: Int, attempt: AttemptRecord?)
}

/// Stage 4, admit: the rate limits and budgets of the caller (key or declared caller) and its team, checked and charged in one
/// shared-state transaction. A token estimate is reserved and reconciled in settlement.
struct AdmissionStage: Sendable {
    let state: SharedState?
    let prices: PriceTable
    let logger: Logger
    let clock: any WallClock
    let metrics: GatewayMetrics

    func admit(_ identity: Authenticator.Identity, body: [UInt8], targets: [RouteTarget]) async throws(GatewayError)
        -> Admission
    {
        guard let state, identity.limits != nil || identity.team != nil else { return .none }
        var scopes: [AdmissionScope] = []
        if let own = identity.limits { scopes.append(own) }
        do {
            if let team = identity.team, let record = try await state.keys.team(named: team), !record.limits.isEmpty {
                scopes.append(AdmissionScope(id: "team:\(team)", limits: record.limits))
            }
        } catch {
            try storeFailed(error)
            return .none
        }
        guard !scopes.isEmpty else { return .none }
        var admission = Admission()
        if scopes.contains(where: { $0.limits.budget != nil }) {
            // A budget is only as good as the price of what serves the request.
            admission.requiresPrice = true
            guard targets.contains(where: prices.canPrice) else {
                let names = targets.map(\.label).joined(separator: ", ")
                throw GatewayError(
                    .forbidden,
                    "The budget of this \(identity.noun) cannot be enforced: no target of this model has a price (\(names)). "
                        + "Set `price:` on the target in the gateway's configuration."
                )
            }
        }
        let estimate = AdmissionEstimate.tokens(body: body)
        let price = targets.first.flatMap(prices.price(of:))
        let request = AdmissionRequest(
            scopes: scopes,
            estimatedTokens: estimate.total,
            estimatedCostUSD: price?.cost(of: estimate.usage) ?? 0,
            nowMillis: clock.nowMillis()
        )
        let decision: AdmissionDecision
        do {
            decision = try await state.admission.admit(request)
        } catch {
            try storeFailed(error)
            return admission
        }
        switch decision {
        case .admitted(let ticket):
            admission.ticket = ticket
            admission.headers = Self.rateLimitHeaders(ticket)
        case .rateLimited(let scope, let metric, let limit, let retryAfterMillis):
            if let limitScope = LimitScope(scopeID: scope) { metrics.rateLimited(limitScope) }
            let seconds = Self.seconds(retryAfterMillis)
            admission.headers = [
                ("x-ratelimit-limit-\(metric)", String(limit)),
                ("x-ratelimit-remaining-\(metric)", "0"),
                ("x-ratelimit-reset-\(metric)", "\(seconds)s"),
            ]
            admission.refusal = GatewayError(
                .rateLimited,
                "Rate limit reached for \(scope) on \(metric) per minute (limit \(limit)). Please try again in \(seconds)s.",
                retryAfterSeconds: seconds
            )
        case .budgetExceeded(let scope, let budget, let spent):
            if let limitScope = LimitScope(scopeID: scope) { metrics.budgetRejected(limitScope) }
            admission.refusal = GatewayError(
                .budgetExceeded,
                "Budget exceeded for \(scope): spent $\(Self.dollars(spent)) of $\(Self.dollars(budget.usd)) this \(budget.period.rawValue).",
                retryAfterSeconds: budget.period.secondsUntilNext(atMillis: clock.nowMillis())
            )
        }
        return admission
    }

    /// A provider quota check for one target, in its own shared-state transaction.
    func admit(_ target: RouteTarget, body: [UInt8]) async -> TargetQuota {
        guard let state, !target.limits.isEmpty else { return .open }
        let request = AdmissionRequest(
            scopes: [AdmissionScope(id: "target:\(target.label)", limits: target.limits)],
            estimatedTokens: AdmissionEstimate.total(body: body),
            estimatedCostUSD: 0,
            nowMillis: clock.nowMillis()
        )
        let decision: AdmissionDecision
        do {
            decision = try await state.admission.admit(request)
        } catch {
            logger.error("shared state unavailable for a provider quota", metadata: ["error": "\(error)"])
            return state.onStoreError == .deny ? .full(retryAfterSeconds: 1, attempt: nil) : .open
        }
        switch decision {
        case .admitted(let ticket):
            return .admitted(label: target.label, ticket: ticket)
        case .rateLimited(_, let metric, let limit, let retryAfterMillis):
            metrics.rateLimited(.target)
            let seconds = Self.seconds(retryAfterMillis)
            let attempt = AttemptRecord(
                target: target.label,
                status: nil,
                error: "provider quota of \(limit) \(metric)/min reached (room in \(seconds)s)",
                milliseconds: 0,
                skipped: true
            )
            return .full(retryAfterSeconds: seconds, attempt: attempt)
        case .budgetExceeded:
            return .open
        }
    }

    private func storeFailed(_ error: any Error) throws(GatewayError) {
        logger.error("shared state unavailable for admission", metadata: ["error": "\(error)"])
        if state?.onStoreError == .deny {
            throw GatewayError(
                .unavailable, "The gateway's shared state is unavailable; try again shortly.", retryAfterSeconds: 1)
        }
    }

    static func rateLimitHeaders(_ ticket: AdmissionTicket) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        if let limit = ticket.limitRequests, let remaining = ticket.remainingRequests {
            headers.append(("x-ratelimit-limit-requests", String(limit)))
            headers.append(("x-ratelimit-remaining-requests", String(remaining)))
        }
        if let limit = ticket.limitTokens, let remaining = ticket.remainingTokens {
            headers.append(("x-ratelimit-limit-tokens", String(limit)))
            headers.append(("x-ratelimit-remaining-tokens", String(remaining)))
        }
        return headers
    }

    /// Whole seconds until `millis` have passed, at least 1.
    private static func seconds(_ millis: Int64) -> Int {
        Int(max(1, millis.addingSaturating(999) / 1000))
    }

    static func dollars(_ value: Double) -> String {
        var json = JSONWriter()
        json.double(value, decimals: 4)
        return String(decoding: json.bytes, as: UTF8.self)
    }
}

extension BudgetPeriod {
    /// Seconds from `now` until the next period begins (UTC), plus one.
    func secondsUntilNext(atMillis now: Int64) -> Int {
        let day: Int64 = 86_400_000
        switch self {
        case .day: return Int((day - now % day) / 1000) + 1
        case .month:
            // Step day by day to the first of the next month (at most 31 steps).
            var probe = now - now % day + day
            while BudgetPeriod.month.identifier(atMillis: probe) == BudgetPeriod.month.identifier(atMillis: now) {
                probe += day
            }
            return Int((probe - now) / 1000) + 1
        }
    }
}

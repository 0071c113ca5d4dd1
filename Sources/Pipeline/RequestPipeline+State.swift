import GatewayCore

extension RequestPipeline {
    /// 2. identify: the caller's identity (virtual key, peer uid), checked against the shared
    /// key store on every request so a revocation takes effect at once in every sidecar.
    func identify(_ exchange: inout Exchange) async throws(GatewayError) {
        let identity = try await authenticator.identify(exchange.request, nowMillis: nowMillis())
        exchange.record.caller = identity.caller
        exchange.key = identity.key
    }

    /// 403 when the caller's key may not use `model`.
    func authorize(model: String, exchange: Exchange) throws(GatewayError) {
        guard let allowed = exchange.key?.allowedModels, !allowed.contains(model) else { return }
        throw GatewayError(.forbidden, "This API key is not allowed to use the model `\(model)`.", param: "model")
    }

    /// 3. admit: rate limits and budgets of the key and its team, checked and charged in one
    /// shared-state transaction. A token estimate is reserved and reconciled in `settle`.
    func admit(_ exchange: inout Exchange, targets: [RouteTarget]) async throws(GatewayError) {
        guard let state, let key = exchange.key else { return }
        var scopes: [AdmissionScope] = []
        if !key.limits.isEmpty { scopes.append(AdmissionScope(id: "key:\(key.publicID)", limits: key.limits)) }
        do {
            if let team = key.team, let record = try await state.keys.team(named: team), !record.limits.isEmpty {
                scopes.append(AdmissionScope(id: "team:\(team)", limits: record.limits))
            }
        } catch {
            try storeFailed(error)
            return
        }
        guard !scopes.isEmpty else { return }
        if scopes.contains(where: { $0.limits.budget != nil }) {
            // A budget is only as good as the price of what serves the request.
            exchange.requiresPrice = true
            guard targets.contains(where: isPriced) else {
                let names = targets.map(\.label).joined(separator: ", ")
                throw GatewayError(
                    .forbidden,
                    "The budget of this key cannot be enforced: no target of this model has a price (\(names)). "
                        + "Set `price:` on the target in the gateway's configuration."
                )
            }
        }
        let estimate = AdmissionEstimate.tokens(body: exchange.request.body)
        let price = targets.first.flatMap { $0.price ?? prices.price(for: $0.upstreamModel) }
        let cost = price?.cost(of: TokenUsage(promptTokens: estimate.prompt, completionTokens: estimate.output)) ?? 0
        let request = AdmissionRequest(
            scopes: scopes,
            estimatedTokens: estimate.prompt + estimate.output,
            estimatedCostUSD: cost,
            nowMillis: nowMillis()
        )
        let decision: AdmissionDecision
        do {
            decision = try await state.admission.admit(request)
        } catch {
            try storeFailed(error)
            return
        }
        switch decision {
        case .admitted(let ticket):
            exchange.ticket = ticket
            exchange.extraHeaders += Self.rateLimitHeaders(ticket)
        case .rateLimited(let scope, let metric, let limit, let retryAfterMillis):
            let seconds = Int(max(1, (retryAfterMillis + 999) / 1000))
            exchange.extraHeaders.append(("x-ratelimit-limit-\(metric)", String(limit)))
            exchange.extraHeaders.append(("x-ratelimit-remaining-\(metric)", "0"))
            exchange.extraHeaders.append(("x-ratelimit-reset-\(metric)", "\(seconds)s"))
            throw GatewayError(
                .rateLimited,
                "Rate limit reached for \(scope) on \(metric) per minute (limit \(limit)). Please try again in \(seconds)s.",
                retryAfterSeconds: seconds
            )
        case .budgetExceeded(let scope, let budget, let spent):
            throw GatewayError(
                .budgetExceeded,
                "Budget exceeded for \(scope): spent $\(Self.dollars(spent)) of $\(Self.dollars(budget.usd)) this \(budget.period.rawValue).",
                retryAfterSeconds: secondsUntilNextPeriod(budget.period)
            )
        }
    }

    /// Whether what `target` serves can be priced: a configured price, a listed model, or an
    /// Azure deployment, priced by the model its answer names.
    func isPriced(_ target: RouteTarget) -> Bool {
        target.price != nil || prices.price(for: target.upstreamModel) != nil || target.provider.kind == .azure
    }

    /// A provider quota check for one target (`targets[].rpm/tpm`), in its own shared-state
    /// transaction. Returns the seconds until the target has room when it is at its quota (the
    /// attempt is skipped and recorded), nil when the target may be tried.
    func admitTarget(_ target: RouteTarget, exchange: inout Exchange) async -> Int? {
        guard let state, !target.limits.isEmpty else { return nil }
        let estimate = AdmissionEstimate.tokens(body: exchange.request.body)
        let request = AdmissionRequest(
            scopes: [AdmissionScope(id: "target:\(target.label)", limits: target.limits)],
            estimatedTokens: estimate.prompt + estimate.output,
            estimatedCostUSD: 0,
            nowMillis: nowMillis()
        )
        let decision: AdmissionDecision
        do {
            decision = try await state.admission.admit(request)
        } catch {
            logger.error("shared state unavailable for a provider quota", metadata: ["error": "\(error)"])
            return state.onStoreError == .deny ? 1 : nil
        }
        switch decision {
        case .admitted(let ticket):
            exchange.targetTickets.append((target.label, ticket))
            return nil
        case .rateLimited(_, let metric, let limit, let retryAfterMillis):
            let seconds = Int(max(1, (retryAfterMillis + 999) / 1000))
            exchange.record.attempts.append(
                AttemptRecord(
                    target: target.label,
                    status: nil,
                    error: "provider quota of \(limit) \(metric)/min reached (room in \(seconds)s)",
                    milliseconds: 0
                )
            )
            return seconds
        case .budgetExceeded:
            return nil
        }
    }

    /// 8. settle: the cost of what the provider reported, the reservation reconciled to it
    /// (a failed request gives its reservation back), and the usage totals.
    func settle(_ exchange: inout Exchange) async {
        await storeInCache(exchange)
        if exchange.record.outcome == "cache_hit" {
            // Nothing was paid for: give the reservation back, count the request, log the tokens.
            if let state, let model = exchange.record.model {
                let charge = UsageCharge(
                    caller: exchange.record.caller,
                    team: exchange.key?.team,
                    model: model,
                    usage: TokenUsage(promptTokens: 0, completionTokens: 0),
                    costUSD: 0,
                    nowMillis: nowMillis()
                )
                try? await state.admission.settle(exchange.ticket, charge: charge)
            }
            exchange.record.usage = exchange.cachedUsage
            exchange.record.costUSD = 0
            return
        }
        let usage = exchange.record.usage ?? TokenUsage(promptTokens: 0, completionTokens: 0)
        await reconcileTargetTickets(exchange, usage: usage)
        if let recorded = exchange.record.usage, let model = exchange.record.upstreamModel {
            // Azure deployments have names of their own: their answer names the model.
            let price =
                exchange.servedPrice ?? prices.price(for: model)
                ?? exchange.respondingModel.flatMap { prices.price(for: $0) }
            exchange.record.costUSD = price?.cost(of: recorded)
            if price == nil && exchange.requiresPrice {
                logger.error(
                    "a budgeted request was served by an unpriced model; its cost is not counted",
                    metadata: [
                        "request_id": "\(exchange.record.requestID)", "model": "\(exchange.respondingModel ?? model)",
                    ])
            }
        }
        guard let state, exchange.ticket != nil || exchange.record.usage != nil, let model = exchange.record.model
        else {
            return
        }
        let charge = UsageCharge(
            caller: exchange.record.caller,
            team: exchange.key?.team,
            model: model,
            usage: usage,
            costUSD: exchange.record.costUSD ?? 0,
            nowMillis: nowMillis()
        )
        do {
            try await state.admission.settle(exchange.ticket, charge: charge)
        } catch {
            logger.error(
                "usage settlement failed",
                metadata: ["request_id": "\(exchange.record.requestID)", "error": "\(error)"])
        }
    }

    /// Provider quotas: the target that answered is charged its real tokens, the others none.
    private func reconcileTargetTickets(_ exchange: Exchange, usage: TokenUsage) async {
        guard let state else { return }
        let served = exchange.record.provider.flatMap { provider in
            exchange.record.upstreamModel.map { "\(provider)/\($0)" }
        }
        for (label, ticket) in exchange.targetTickets {
            let tokens = label == served && exchange.record.outcome != "cache_hit" ? usage.totalTokens : 0
            try? await state.admission.reconcile(ticket, actualTokens: tokens, nowMillis: nowMillis())
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

    func nowMillis() -> Int64 {
        clock.nowMillis()
    }

    static func dollars(_ value: Double) -> String {
        var json = JSONWriter()
        json.double(value, decimals: 4)
        return String(decoding: json.bytes, as: UTF8.self)
    }

    func secondsUntilNextPeriod(_ period: BudgetPeriod) -> Int {
        let now = nowMillis()
        let day: Int64 = 86_400_000
        switch period {
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

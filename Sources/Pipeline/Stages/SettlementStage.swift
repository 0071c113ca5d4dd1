import GatewayCore
import Logging

/// Stage 8, settle: the cost of what the provider reported, the caller's reservation reconciled to
/// it (a failed request gives its reservation back), provider quotas charged what each target
/// served, the usage totals, and a complete answer stored in the cache. Runs on every path.
struct SettlementStage: Sendable {
    let admission: (any AdmissionStore)?
    let cache: CacheStage
    let prices: PriceTable
    let logger: Logger
    let clock: any WallClock

    /// Settles a request the providers answered (or failed to).
    func settle(
        _ record: inout AccessRecord, team: String?, admission caller: Admission, answer: Answer, plan: CachePlan?
    )
        async
    {
        await cache.store(answer.capture, plan: plan, record: record)
        let usage = record.usage ?? TokenUsage(promptTokens: 0, completionTokens: 0)
        if let recorded = record.usage, let model = record.upstreamModel {
            let respondingModel = answer.served?.respondingModel
            // Azure deployments have names of their own: their answer names the model.
            let price =
                answer.served?.price ?? prices.price(for: model) ?? respondingModel.flatMap { prices.price(for: $0) }
            record.costUSD = price?.cost(of: recorded)
            if price == nil && caller.requiresPrice {
                logger.error(
                    "a budgeted request was served by an unpriced model; its cost is not counted",
                    metadata: ["request_id": "\(record.requestID)", "model": "\(respondingModel ?? model)"])
            }
        }
        guard let admission else { return }
        let nowMillis = clock.nowMillis()
        // Provider quotas: the target that answered is charged its real tokens, the others none.
        let servedLabel = answer.served?.target.label
        let quotas = answer.targetTickets.map { label, ticket in
            QuotaReconciliation(
                ticket: ticket, actualTokens: label == servedLabel ? usage.totalTokens : 0, nowMillis: nowMillis)
        }
        var charge: UsageCharge?
        if caller.ticket != nil || record.usage != nil, let model = record.model {
            charge = UsageCharge(
                caller: record.caller, team: team, model: model, usage: usage, costUSD: record.costUSD ?? 0,
                nowMillis: nowMillis)
        }
        guard !quotas.isEmpty || charge != nil else { return }
        do {
            try await admission.finish(quotas: quotas, caller: caller.ticket, charge: charge)
        } catch {
            logger.error(
                "usage settlement failed", metadata: ["request_id": "\(record.requestID)", "error": "\(error)"])
        }
    }

    /// Settles a cache hit: nothing was paid for, so the reservation is given back and the request
    /// counted with no tokens; the log shows the cached answer's usage at no cost.
    func settleCacheHit(_ record: inout AccessRecord, team: String?, admission caller: Admission, usage: TokenUsage?)
        async
    {
        if let model = record.model {
            await charge(
                caller.ticket, record: record, team: team, model: model,
                usage: TokenUsage(promptTokens: 0, completionTokens: 0), cost: 0)
        }
        record.usage = usage
        record.costUSD = 0
    }

    private func charge(
        _ ticket: AdmissionTicket?, record: AccessRecord, team: String?, model: String, usage: TokenUsage, cost: Double
    ) async {
        guard let admission else { return }
        let charge = UsageCharge(
            caller: record.caller, team: team, model: model, usage: usage, costUSD: cost, nowMillis: clock.nowMillis())
        do {
            try await admission.settle(ticket, charge: charge)
        } catch {
            logger.error(
                "usage settlement failed", metadata: ["request_id": "\(record.requestID)", "error": "\(error)"])
        }
    }
}

import GatewayCore
import Logging
import Synchronization

/// Admission for a fleet (`shared:`, docs/design.md "Two tiers"): every call goes to the fleet's
/// store (Redis) first. When that fails or times out, `shared.on_error` decides, and every switch
/// between the fleet's count and the fallback is logged once:
///
/// - `local`: this host's store (LMDB) admits, every limit scaled by `local_share`; the ticket is
///   marked `chargedLocally` and settles there. The next request tries the fleet again, so shared
///   counting resumes as soon as the server answers.
/// - `deny`: the error goes up, and the admission stage answers 503 (`SharedState.onStoreError`
///   is `.deny` for this mode).
/// - `allow`: admitted without a reservation; its usage is kept (at most `maximumPending` charges)
///   and settled on the fleet's store once it answers again.
public final class FleetAdmissionStore: SettlesInOneStep {
    public let fleet: any AdmissionStore
    public let local: any AdmissionStore
    public let onError: SharedConfiguration.OnError
    public let localShare: Double
    private let logger: Logger
    private let state = Mutex(State())
    /// Charges kept while the fleet's store is down (`allow`); the oldest are dropped past this.
    public static let maximumPending = 10_000

    private struct State {
        var degraded = false
        var fallbacks = 0
        var pending: [UsageCharge] = []
        var dropped = 0
    }

    public init(
        fleet: any AdmissionStore, local: any AdmissionStore, onError: SharedConfiguration.OnError,
        localShare: Double = 1, logger: Logger
    ) {
        self.fleet = fleet
        self.local = local
        self.onError = onError
        self.localShare = localShare
        self.logger = logger
    }

    /// The fleet's store failed on its last call (and has not answered since).
    public var isDegraded: Bool { state.withLock { $0.degraded } }
    /// Admissions decided without the fleet's store since start.
    public var fallbackCount: Int { state.withLock { $0.fallbacks } }
    /// Charges waiting for the fleet's store (`allow`).
    public var pendingCount: Int { state.withLock { $0.pending.count } }

    public func admit(_ request: AdmissionRequest) async throws -> AdmissionDecision {
        do {
            let decision = try await fleet.admit(request)
            await recovered()
            return decision
        } catch {
            failed(error, during: "admission")
            switch onError {
            case .deny:
                throw error
            case .allow:
                return .admitted(
                    AdmissionTicket(
                        scopes: request.scopes, reservedTokens: 0, reservedMicroUSD: 0,
                        admittedAtMillis: request.nowMillis))
            case .local:
                var share = request
                share.scopes = request.scopes.map { AdmissionScope(id: $0.id, limits: scaled($0.limits)) }
                let decision = try await local.admit(share)
                guard case .admitted(var ticket) = decision else { return decision }
                ticket.chargedLocally = true
                return .admitted(ticket)
            }
        }
    }

    /// `limits` times `local_share`, never below one request, token or cent.
    func scaled(_ limits: LimitSettings) -> LimitSettings {
        guard localShare < 1 else { return limits }
        var scaled = limits
        scaled.requestsPerMinute = limits.requestsPerMinute.map { max(1, Int(Double($0) * localShare)) }
        scaled.tokensPerMinute = limits.tokensPerMinute.map { max(1, Int(Double($0) * localShare)) }
        scaled.budget = limits.budget.map { Budget(usd: max(0.01, $0.usd * localShare), period: $0.period) }
        return scaled
    }

    public func finish(quotas: [QuotaReconciliation], caller: AdmissionTicket?, charge: UsageCharge?) async throws {
        // What was charged here settles here; the rest goes to the fleet's store.
        let localQuotas = quotas.filter(\.ticket.chargedLocally)
        let fleetQuotas = quotas.filter { !$0.ticket.chargedLocally }
        let callerIsLocal = caller?.chargedLocally == true
        if !localQuotas.isEmpty || callerIsLocal {
            try await local.finish(
                quotas: localQuotas, caller: callerIsLocal ? caller : nil, charge: callerIsLocal ? charge : nil)
        }
        guard !fleetQuotas.isEmpty || (!callerIsLocal && (caller != nil || charge != nil)) else { return }
        do {
            try await fleet.finish(
                quotas: fleetQuotas, caller: callerIsLocal ? nil : caller, charge: callerIsLocal ? nil : charge)
            await recovered()
        } catch {
            failed(error, during: "settlement")
            guard !callerIsLocal, let charge else { return }
            switch onError {
            case .allow:
                keep(charge)
            case .local:
                // Counted on this host, so the host's own budgets see it.
                try await local.settle(nil, charge: charge)
            case .deny:
                throw error
            }
        }
    }

    public func usage(fromDay: String?) async throws -> [UsageLine] {
        try await fleet.usage(fromDay: fromDay)
    }

    private func keep(_ charge: UsageCharge) {
        state.withLock { state in
            state.pending.append(charge)
            if state.pending.count > Self.maximumPending {
                state.pending.removeFirst(state.pending.count - Self.maximumPending)
                state.dropped += 1
            }
        }
    }

    private func failed(_ error: any Error, during step: String) {
        let switched = state.withLock { state -> Bool in
            state.fallbacks += 1
            defer { state.degraded = true }
            return !state.degraded
        }
        guard switched else { return }
        logger.error(
            "shared state unreachable: admission falls back",
            metadata: ["during": "\(step)", "on_error": "\(onError.rawValue)", "error": "\(error)"])
    }

    /// The fleet's store answered: note the switch back and settle what was kept meanwhile.
    private func recovered() async {
        let (switched, pending, dropped) = state.withLock { state -> (Bool, [UsageCharge], Int) in
            guard state.degraded else { return (false, [], 0) }
            state.degraded = false
            defer { (state.pending, state.dropped) = ([], 0) }
            return (true, state.pending, state.dropped)
        }
        guard switched else { return }
        logger.notice(
            "shared state reachable again: admission counts on it",
            metadata: ["settling": "\(pending.count)", "dropped": "\(dropped)"])
        for (index, charge) in pending.enumerated() {
            do {
                try await fleet.settle(nil, charge: charge)
            } catch {
                // Down again: keep what is left for the next recovery.
                for rest in pending[index...] { keep(rest) }
                failed(error, during: "settlement")
                return
            }
        }
    }
}

import GatewayCore
import Store
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The shared-state work of one gateway request with a rate-limited, budgeted virtual key served
/// by a target with a provider quota, run against `LMDBAdmissionStore` as fast as it goes.
///
/// One request is what the pipeline does, in its order, each step its own write transaction:
/// 1. admit the key (`rpm`, `tpm` and a daily budget: check and charge the estimate);
/// 2. admit the target's quota (`rpm`, `tpm`), as the attempt stage does;
/// 3. reconcile the target's ticket to the tokens it served (settlement);
/// 4. settle the key's ticket with the real usage and cost, adding to the usage totals.
///
/// Without a target quota (`targetScope == nil`) steps 2 and 3 are skipped. A refused request
/// stops there and is counted apart; it adds no usage line, so the usage total of the key is
/// exactly the number of admitted requests.
struct AdmissionBenchmark: Sendable {
    let store: LMDBAdmissionStore
    let keyScope: AdmissionScope
    let targetScope: AdmissionScope?
    /// The `caller` of the usage line (`key:<id>`).
    let caller: String
    let model: String

    /// Prompt estimate plus max output tokens, as reserved at admission.
    static let estimatedTokens = 120
    static let estimatedCostUSD = 0.000_48
    /// What the "provider" reports: fewer tokens than reserved, so settlement corrects both the
    /// token bucket and the budget.
    static let usage = TokenUsage(promptTokens: 70, completionTokens: 30)
    static let costUSD = 0.000_38

    /// Write transactions one request takes.
    var transactionsPerRequest: Int { targetScope == nil ? 2 : 4 }

    enum Outcome: Sendable {
        case admitted, refused, failed(any Error)
    }

    /// Totals of a run.
    struct Tally: Sendable {
        var admitted = 0
        var refused = 0
        var errors = 0
        var firstError: String?

        mutating func add(_ other: Tally) {
            admitted += other.admitted
            refused += other.refused
            errors += other.errors
            firstError = firstError ?? other.firstError
        }

        mutating func count(_ outcome: Outcome) {
            switch outcome {
            case .admitted: admitted += 1
            case .refused: refused += 1
            case .failed(let error):
                errors += 1
                firstError = firstError ?? "\(error)"
            }
        }
    }

    /// Runs `concurrency` tasks, each doing one request after another, until `deadline` or until
    /// `count` requests were started in all (whichever is given; `count` wins when both are).
    func run(concurrency: Int, until deadline: ContinuousClock.Instant, count: Int?) async -> Tally {
        let started = StartedCount()
        return await withTaskGroup(of: Tally.self) { group in
            for _ in 0..<max(1, concurrency) {
                group.addTask {
                    var tally = Tally()
                    while true {
                        if let count {
                            guard started.value.add(1, ordering: .relaxed).newValue <= count else { break }
                        } else if ContinuousClock.now >= deadline {
                            break
                        }
                        tally.count(await request())
                    }
                    return tally
                }
            }
            var total = Tally()
            for await tally in group { total.add(tally) }
            return total
        }
    }

    /// Requests started so far, shared by the tasks of a counted run.
    private final class StartedCount: Sendable {
        let value = Atomic<Int>(0)
    }

    /// One request's admission and settlement.
    func request() async -> Outcome {
        do {
            let now = Self.nowMillis()
            let keyDecision = try await store.admit(
                AdmissionRequest(
                    scopes: [keyScope], estimatedTokens: Self.estimatedTokens,
                    estimatedCostUSD: Self.estimatedCostUSD, nowMillis: now))
            guard case .admitted(let keyTicket) = keyDecision else { return .refused }
            if let targetScope {
                let targetDecision = try await store.admit(
                    AdmissionRequest(
                        scopes: [targetScope], estimatedTokens: Self.estimatedTokens, estimatedCostUSD: 0,
                        nowMillis: now))
                guard case .admitted(let targetTicket) = targetDecision else { return .refused }
                try await store.reconcile(
                    targetTicket, actualTokens: Self.usage.totalTokens, nowMillis: Self.nowMillis())
            }
            let charge = UsageCharge(
                caller: caller, team: nil, model: model, usage: Self.usage, costUSD: Self.costUSD,
                nowMillis: Self.nowMillis())
            try await store.settle(keyTicket, charge: charge)
            return .admitted
        } catch {
            return .failed(error)
        }
    }

    /// Wall-clock milliseconds, as the gateway's clock gives them.
    static func nowMillis() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }
}

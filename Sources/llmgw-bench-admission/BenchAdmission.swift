import ArgumentParser
import Foundation
import GatewayCore
import Store

/// `llmgw-bench-admission`: shared check-and-charge per second on one LMDB state directory.
///
/// Opens the state as `llmgw serve` does (`SharedStateLayout` with the gateway's defaults, the
/// admission store on the volatile environment), then runs `AdmissionBenchmark` for a duration
/// or a count and prints one line: `admissions=N seconds=S per_second=X refused=R errors=E`.
/// Several processes on one `--state` measure the host-wide rate; `--start-at` lines their loops
/// up. `--verify` instead prints what the shared counters hold for `--key`.
@main
struct BenchAdmission: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llmgw-bench-admission",
        abstract: "Shared admission (check, charge and settle) per second against an llmgw state directory."
    )

    @Option(help: "The state directory (state.path), shared by every process of the run.") var state: String
    @Option(help: "Run for this many seconds.") var seconds: Double = 5
    @Option(help: "Run exactly this many requests instead of for --seconds.") var count: Int?
    @Option(help: "Requests in flight at once in this process (the gateway runs many).") var concurrency = 16
    @Option(help: "The virtual key id the requests are charged to (caller key:<id>).") var key = "bench"
    @Flag(help: "No provider quota on the target: 2 write transactions per request instead of 4.")
    var noTarget = false
    @Option(help: "state.durability: relaxed (the default) or full.") var durability = "relaxed"
    @Option(help: "state.lock_timeout, in milliseconds.") var lockTimeoutMs = 500
    @Option(help: "Start the loop at this wall-clock time (Unix seconds), to line up processes.")
    var startAt: Double?
    @Flag(help: "Print the usage and budget totals of --key and exit.") var verify = false
    @Flag(
        help: ArgumentHelp(
            "Diagnostic: the same transactions on the calling thread, one request at a time, without "
                + "LMDBExecutor (the gateway never runs them so)."))
    var direct = false

    func validate() throws {
        guard durability == "relaxed" || durability == "full" else {
            throw ValidationError("--durability is relaxed or full")
        }
        guard count.map({ $0 > 0 }) ?? true, seconds > 0, concurrency > 0 else {
            throw ValidationError("--count, --seconds and --concurrency must be positive")
        }
    }

    func run() async throws {
        let layout = try openLayout()
        let store = LMDBAdmissionStore(executor: layout.volatile)
        if verify { return try await printTotals(store, layout.volatile) }

        // Limits far above what a host can do, so that nothing is refused (refusals are counted).
        let limits = LimitSettings(
            requestsPerMinute: 1_000_000_000, tokensPerMinute: 100_000_000_000,
            budget: Budget(usd: 1_000_000_000, period: .day))
        let benchmark = AdmissionBenchmark(
            store: store,
            keyScope: AdmissionScope(id: "key:\(key)", limits: limits),
            targetScope: noTarget
                ? nil
                : AdmissionScope(
                    id: "target:mock/gpt-4o-mini",
                    limits: LimitSettings(requestsPerMinute: 1_000_000_000, tokensPerMinute: 100_000_000_000)),
            caller: "key:\(key)",
            model: "bench"
        )
        if let startAt {
            let wait = startAt - Date().timeIntervalSince1970
            if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
        }
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: .milliseconds(Int(seconds * 1000)))
        let tally =
            direct
            ? DirectAdmission(environment: layout.volatile.environment, benchmark: benchmark).run(
                until: deadline, count: count)
            : await benchmark.run(concurrency: concurrency, until: deadline, count: count)
        let elapsed = Self.seconds(start.duration(to: clock.now))
        print(
            "admissions=\(tally.admitted) seconds=\(String(format: "%.3f", elapsed)) "
                + "per_second=\(String(format: "%.1f", Double(tally.admitted) / elapsed)) refused=\(tally.refused) "
                + "errors=\(tally.errors)")
        if let error = tally.firstError {
            FileHandle.standardError.write(Data("llmgw-bench-admission: first error: \(error)\n".utf8))
        }
        FileHandle.standardError.write(
            Data(
                ("llmgw-bench-admission: pid \(getpid()), concurrency \(direct ? "1 (direct)" : "\(concurrency)"), "
                    + "\(benchmark.transactionsPerRequest) write transactions per request, durability \(durability)\n")
                    .utf8))
    }

    /// The layout `llmgw serve` opens (`SharedStateFactory.layout`), with the configuration's
    /// defaults; continues in a fresh PID when another sidecar's namespace has ours.
    private func openLayout() throws -> SharedStateLayout {
        let defaults = StateConfiguration(path: state)
        do {
            return try SharedStateLayout(
                path: state,
                mapSizeBytes: defaults.mapSizeBytes,
                maxReaders: defaults.maxReaders,
                durability: durability == "full" ? .full : .relaxed,
                fileMode: mode_t(defaults.fileMode),
                timeout: .milliseconds(lockTimeoutMs)
            )
        } catch {
            if error.code == .pidInUse { FreshPID.continueInChild() }
            throw error
        }
    }

    /// `requests=… usage_micro_usd=… budget_micro_usd=…` for `--key`: the usage lines' totals
    /// (every day) and the budget spend counters of every period.
    private func printTotals(_ store: LMDBAdmissionStore, _ executor: LMDBExecutor) async throws {
        let caller = "key:\(key)"
        let lines = try await store.usage(fromDay: nil).filter { $0.caller == caller }
        let spend = executor.environment.database("spend")
        let prefix = Array("budget/\(caller)/".utf8)
        let budget = try await executor.read { transaction in
            var total: Int64 = 0
            try transaction.forEach(spend, from: prefix) { key, value in
                guard key.starts(with: prefix) else { return false }
                total += value.count == 8 ? value.reversed().reduce(0) { $0 << 8 | Int64($1) } : 0
                return true
            }
            return total
        }
        let requests = lines.reduce(Int64(0)) { $0 + $1.requests }
        let microUSD = lines.reduce(Int64(0)) { $0 + $1.microUSD }
        print("requests=\(requests) usage_micro_usd=\(microUSD) budget_micro_usd=\(budget)")
    }

    private static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

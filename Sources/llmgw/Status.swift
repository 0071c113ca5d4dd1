import ArgumentParser
import GatewayCore
import Store

#if canImport(Glibc)
    import Glibc
#endif

/// `llmgw status --config FILE [--state DIR] [--json]`: what the shared state says about the host — its files,
/// the sidecars alive and stale, every circuit, today's spend and tokens per key and team, and
/// what is left of each budget. Read transactions only, on environments opened read-only: it
/// works beside running sidecars and never waits for a writer. Never prints a secret (key ids
/// and names only). Field names of `--json`: docs/operating.md.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the shared state: sidecars, circuits, spend.")

    @OptionGroup var options: ConfigOption
    @Option(
        help: ArgumentHelp(
            "The state directory (default: the configuration's state.path).",
            discussion: "Without --config (and LLMGW_CONFIG), the state's own defaults apply and only circuits "
                + "that ever failed are listed.",
            valueName: "dir"))
    var state: String?
    @Flag(help: "One JSON document instead of text.") var json = false

    func run() async throws {
        var configuration: GatewayConfiguration
        if let state, options.config == nil, ProcessEnvironment.value("LLMGW_CONFIG")?.isEmpty ?? true {
            configuration = GatewayConfiguration()
            configuration.state.path = state
        } else {
            configuration = try loadConfiguration(options)
            if let state { configuration.state.path = state }
        }
        let report: StatusReport
        do {
            let layout = try SharedStateFactory.readOnlyLayout(configuration)
            report = try await StatusReport.read(layout, configuration: configuration, nowMillis: CLIClock.nowMillis())
        } catch {
            printToStandardError("llmgw status: cannot read the shared state at \(configuration.state.path): \(error)")
            throw ExitCode(1)
        }
        print(json ? report.json() : report.text())
    }
}

/// Everything `llmgw status` shows, read from the state at one moment (each part in one read
/// transaction).
struct StatusReport {
    struct Environment {
        var path: String
        var mapSizeBytes: Int
        var mapUsedBytes: Int
        var databases: [(name: String, entries: Int)]
    }

    struct Circuit {
        var target: String
        /// closed, open or half_open.
        var state: String
        var failures: Int64
        var openUntilMillis: Int64?
        var lastFailureMillis: Int64?
        var probing: Bool
    }

    struct Spend {
        var requests: Int64 = 0
        var promptTokens: Int64 = 0
        var completionTokens: Int64 = 0
        var microUSD: Int64 = 0

        mutating func add(_ line: UsageLine) {
            requests = requests.addingSaturating(line.requests)
            promptTokens = promptTokens.addingSaturating(line.promptTokens)
            completionTokens = completionTokens.addingSaturating(line.completionTokens)
            microUSD = microUSD.addingSaturating(line.microUSD)
        }
    }

    struct CallerSpend {
        var caller: String
        var id: String?
        var name: String?
        var team: String?
        var spend: Spend
    }

    struct BudgetLine {
        var scope: String
        var name: String
        var budget: Budget
        var periodID: String
        var spentMicroUSD: Int64
    }

    var nowMillis: Int64
    var statePath: String
    var volatile: Environment
    var durable: Environment
    var sidecars: [SidecarEntry]
    var circuits: [Circuit]
    var day: String
    var callers: [CallerSpend]
    var teams: [(team: String, spend: Spend)]
    var budgets: [BudgetLine]

    static func read(
        _ layout: SharedStateLayout, configuration: GatewayConfiguration, nowMillis: Int64
    ) async throws -> StatusReport {
        func environment(_ executor: LMDBExecutor) async throws -> Environment {
            let environment = executor.environment
            return Environment(
                path: environment.configuration.path, mapSizeBytes: environment.mapSize(),
                mapUsedBytes: try environment.usedBytes(),
                databases: try await executor.read { _ in
                    try environment.databaseEntries().map { ($0.name, $0.entries) }
                }
                .map { (name: $0.0, entries: $0.1) })
        }
        let sidecars = try await LMDBSidecarRegistry(executor: layout.volatile).sidecars()

        let policy = configuration.circuit
        let stored =
            layout.volatile.environment.hasDatabase("health")
            ? try await LMDBCircuitStore(executor: layout.volatile).allStates() : []
        var states: [String: CircuitState] = [:]
        for (target, state) in stored { states[target] = state }
        var targets: [String] = []
        for target in configuration.models.flatMap(\.targets).map(\.description) + stored.map(\.target)
        where !targets.contains(target) {
            targets.append(target)
        }
        let circuits = targets.map { circuit($0, states[$0] ?? CircuitState(), policy: policy, nowMillis: nowMillis) }

        let day = BudgetPeriod.day.identifier(atMillis: nowMillis)
        let admission = LMDBAdmissionStore(executor: layout.volatile)
        let lines = try await admission.usage(fromDay: day).filter { $0.day == day }
        let keyStore = LMDBKeyStore(executor: layout.durable)
        let keys = try await keyStore.allKeys()
        let teamRecords = try await keyStore.allTeams()
        var names: [String: VirtualKeyRecord] = [:]
        for key in keys { names["key:\(key.publicID)"] = key }
        var byCaller: [String: CallerSpend] = [:]
        var byTeam: [String: Spend] = [:]
        for line in lines {
            let record = names[line.caller]
            byCaller[
                line.caller,
                default: CallerSpend(
                    caller: line.caller, id: record?.publicID, name: record?.name,
                    team: line.team == "-" ? nil : line.team, spend: Spend())
            ].spend.add(line)
            if line.team != "-" { byTeam[line.team, default: Spend()].add(line) }
        }

        var budgets: [BudgetLine] = []
        for key in keys where key.unusableReason(atMillis: nowMillis) == nil {
            guard let budget = key.limits.budget else { continue }
            budgets.append(
                BudgetLine(
                    scope: "key:\(key.publicID)", name: key.name, budget: budget,
                    periodID: budget.period.identifier(atMillis: nowMillis), spentMicroUSD: 0))
        }
        for team in teamRecords {
            guard let budget = team.limits.budget else { continue }
            budgets.append(
                BudgetLine(
                    scope: "team:\(team.name)", name: team.name, budget: budget,
                    periodID: budget.period.identifier(atMillis: nowMillis), spentMicroUSD: 0))
        }
        let spent = try await admission.budgetSpent(
            budgets.map { AdmissionLedger.budgetKey($0.scope, $0.budget.period, nowMillis) })
        for index in budgets.indices { budgets[index].spentMicroUSD = spent[index] }

        return StatusReport(
            nowMillis: nowMillis, statePath: configuration.state.path,
            volatile: try await environment(layout.volatile), durable: try await environment(layout.durable),
            sidecars: sidecars, circuits: circuits, day: day,
            callers: byCaller.values.sorted { $0.caller < $1.caller },
            teams: byTeam.sorted { $0.key < $1.key }.map { (team: $0.key, spend: $0.value) },
            budgets: budgets)
    }

    static func circuit(_ target: String, _ stored: CircuitState, policy: CircuitPolicy, nowMillis: Int64) -> Circuit {
        let state = stored.clamped(nowMillis: nowMillis, policy: policy)
        let last = state.lastFailureMillis == 0 ? nil : state.lastFailureMillis
        guard state.openUntilMillis != 0 else {
            let windowOver = nowMillis.addingSaturating(-state.windowStartMillis) > policy.window.saturatingMillis
            return Circuit(
                target: target, state: "closed", failures: windowOver ? 0 : state.failuresInWindow,
                openUntilMillis: nil, lastFailureMillis: last, probing: false)
        }
        if nowMillis < state.openUntilMillis {
            return Circuit(
                target: target, state: "open", failures: state.failuresInWindow, openUntilMillis: state.openUntilMillis,
                lastFailureMillis: last, probing: false)
        }
        return Circuit(
            target: target, state: "half_open", failures: state.failuresInWindow,
            openUntilMillis: state.openUntilMillis, lastFailureMillis: last,
            probing: state.probeUntilMillis > nowMillis)
    }
}

// MARK: - Output

extension StatusReport {
    var alive: [SidecarRecord] { sidecars.filter(\.alive).map(\.record) }
    var stale: [SidecarRecord] { sidecars.filter { !$0.alive }.map(\.record) }

    func json() -> String {
        var writer = JSONWriter(capacity: 4096)
        writer.object { json in
            json.field("version", LLMGWVersion.current)
            json.field("now", rfc3339(nowMillis))
            json.key("state")
            json.object { json in
                json.field("path", statePath)
                json.key("volatile")
                Self.write(volatile, &json)
                json.key("durable")
                Self.write(durable, &json)
            }
            json.key("sidecars")
            json.array { json in for record in alive { Self.write(record, &json) } }
            json.key("stale_sidecars")
            json.array { json in for record in stale { Self.write(record, &json) } }
            json.key("circuits")
            json.array { json in
                for circuit in circuits {
                    json.object { json in
                        json.field("target", circuit.target)
                        json.field("state", circuit.state)
                        json.field("failures", Int(circuit.failures))
                        json.field("open_until", circuit.openUntilMillis.map(rfc3339))
                        json.field("last_failure", circuit.lastFailureMillis.map(rfc3339))
                        json.field("probing", circuit.probing)
                    }
                }
            }
            json.key("today")
            json.object { json in
                json.field("day", day)
                json.key("callers")
                json.array { json in
                    for caller in callers {
                        json.object { json in
                            json.field("caller", caller.caller)
                            json.field("key_id", caller.id)
                            json.field("name", caller.name)
                            json.field("team", caller.team)
                            Self.write(caller.spend, &json)
                        }
                    }
                }
                json.key("teams")
                json.array { json in
                    for (team, spend) in teams {
                        json.object { json in
                            json.field("team", team)
                            Self.write(spend, &json)
                        }
                    }
                }
            }
            json.key("budgets")
            json.array { json in
                for line in budgets {
                    json.object { json in
                        json.field("scope", line.scope)
                        json.field("name", line.name)
                        json.field("period", line.budget.period.rawValue)
                        json.field("period_id", line.periodID)
                        json.field("budget_usd", line.budget.usd, decimals: 6)
                        json.field("spent_usd", Double(line.spentMicroUSD) / 1_000_000, decimals: 6)
                        json.field("remaining_usd", remaining(line), decimals: 6)
                    }
                }
            }
        }
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    func remaining(_ line: BudgetLine) -> Double {
        max(0, line.budget.usd - Double(line.spentMicroUSD) / 1_000_000)
    }

    private static func write(_ environment: Environment, _ json: inout JSONWriter) {
        json.object { json in
            json.field("path", environment.path)
            json.field("map_size_bytes", environment.mapSizeBytes)
            json.field("map_used_bytes", environment.mapUsedBytes)
            json.key("databases")
            json.object { json in for (name, entries) in environment.databases { json.field(name, entries) } }
        }
    }

    private static func write(_ record: SidecarRecord, _ json: inout JSONWriter) {
        json.object { json in
            json.field("pid", Int(record.pid))
            json.field("pid_namespace", record.pidNamespace)
            json.field("host", record.host)
            json.field("version", record.version)
            json.field("started_at", rfc3339(record.startedAtMillis))
            json.field("config", record.configPath)
            json.field("socket", record.socketPath)
            json.field("tcp", record.tcp)
            json.field("supervised", record.supervised)
        }
    }

    private static func write(_ spend: Spend, _ json: inout JSONWriter) {
        json.field("requests", Int(spend.requests))
        json.field("prompt_tokens", Int(spend.promptTokens))
        json.field("completion_tokens", Int(spend.completionTokens))
        json.field("cost_usd", Double(spend.microUSD) / 1_000_000, decimals: 6)
    }

    func text() -> String {
        var out: [String] = []
        out.append("state \(statePath)")
        for environment in [volatile, durable] {
            let entries = environment.databases.map { "\($0.name)=\($0.entries)" }.joined(separator: " ")
            out.append(
                "  \(environment.path): map \(mebibytes(environment.mapUsedBytes)) used of "
                    + "\(mebibytes(environment.mapSizeBytes)); entries \(entries)")
        }
        out.append("")
        out.append("sidecars alive: \(alive.count)")
        out.append("  PID      NAMESPACE             HOST                 VERSION  STARTED                   SOCKET")
        for record in alive { out.append("  " + sidecarLine(record)) }
        out.append("sidecars stale (process gone, entry left behind): \(stale.count)")
        for record in stale { out.append("  " + sidecarLine(record)) }
        out.append("")
        out.append("circuits")
        out.append("  TARGET                             STATE      FAILURES  OPEN_UNTIL                LAST_FAILURE")
        for circuit in circuits {
            out.append(
                "  "
                    + [
                        pad(circuit.target, 34), pad(circuit.state + (circuit.probing ? "*" : ""), 10),
                        pad(String(circuit.failures), 9), pad(circuit.openUntilMillis.map(rfc3339) ?? "-", 25),
                        circuit.lastFailureMillis.map(rfc3339) ?? "-",
                    ].joined(separator: " "))
        }
        out.append("")
        out.append("today (\(day), UTC)")
        out.append(
            "  CALLER                 NAME                 TEAM         REQUESTS   PROMPT   COMPLETION   COST_USD")
        for caller in callers {
            out.append(
                "  " + pad(caller.caller, 22) + " " + pad(caller.name ?? "-", 20) + " " + pad(caller.team ?? "-", 12)
                    + " " + spendColumns(caller.spend))
        }
        out.append(
            "  TEAM                                                     REQUESTS   PROMPT   COMPLETION   COST_USD")
        for (team, spend) in teams { out.append("  " + pad(team, 56) + " " + spendColumns(spend)) }
        out.append("")
        out.append("budgets")
        out.append("  SCOPE                  NAME                 PERIOD       BUDGET_USD   SPENT_USD    REMAINING_USD")
        for line in budgets {
            out.append(
                "  "
                    + [
                        pad(line.scope, 22), pad(line.name, 20), pad(line.periodID, 12),
                        pad(usd(line.budget.usd), 12), pad(usd(Double(line.spentMicroUSD) / 1_000_000), 12),
                        usd(remaining(line)),
                    ].joined(separator: " "))
        }
        return out.joined(separator: "\n")
    }

    private func sidecarLine(_ record: SidecarRecord) -> String {
        [
            pad(String(record.pid), 8), pad(record.pidNamespace, 21), pad(record.host, 20), pad(record.version, 8),
            pad(rfc3339(record.startedAtMillis), 25), record.socketPath,
        ].joined(separator: " ")
    }

    private func spendColumns(_ spend: Spend) -> String {
        [
            pad(String(spend.requests), 10), pad(String(spend.promptTokens), 8),
            pad(String(spend.completionTokens), 12),
            usd(Double(spend.microUSD) / 1_000_000),
        ].joined(separator: " ")
    }

    private func usd(_ value: Double) -> String {
        var writer = JSONWriter()
        writer.double(value, decimals: 6)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    private func mebibytes(_ bytes: Int) -> String {
        var writer = JSONWriter()
        writer.double(Double(bytes) / 1_048_576, decimals: 1)
        return String(decoding: writer.bytes, as: UTF8.self) + " MiB"
    }
}

/// `2026-12-03T05:30:00.123Z` for epoch milliseconds (UTC).
func rfc3339(_ millis: Int64) -> String {
    var seconds = time_t(millis / 1000)
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))T"
        + "\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))."
        + "\(pad(Int(millis % 1000), 3))Z"
}

import GatewayCore
import Store

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

    var alive: [SidecarRecord] { sidecars.filter(\.alive).map(\.record) }
    var stale: [SidecarRecord] { sidecars.filter { !$0.alive }.map(\.record) }

    func remaining(_ line: BudgetLine) -> Double {
        max(0, line.budget.usd - Double(line.spentMicroUSD) / 1_000_000)
    }

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
        let stored = try await LMDBCircuitStore(executor: layout.volatile).allStates()
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
        for caller in configuration.callers {  // `callers:` of the config, when one was given
            guard let budget = caller.limits.budget else { continue }
            budgets.append(
                BudgetLine(
                    scope: "caller:\(caller.name)", name: caller.name, budget: budget,
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

    /// One target's circuit in the phase `llmgw_circuit_state` reports (`CircuitState.phase`).
    static func circuit(_ target: String, _ stored: CircuitState, policy: CircuitPolicy, nowMillis: Int64) -> Circuit {
        let state = stored.clamped(nowMillis: nowMillis, policy: policy)
        let last = state.lastFailureMillis == 0 ? nil : state.lastFailureMillis
        switch state.phase(nowMillis: nowMillis, policy: policy) {
        case .closed:
            let windowOver = nowMillis.addingSaturating(-state.windowStartMillis) > policy.window.saturatingMillis
            return Circuit(
                target: target, state: "closed", failures: windowOver ? 0 : state.failuresInWindow,
                openUntilMillis: nil, lastFailureMillis: last, probing: false)
        case .open:
            return Circuit(
                target: target, state: "open", failures: state.failuresInWindow, openUntilMillis: state.openUntilMillis,
                lastFailureMillis: last, probing: false)
        case .halfOpen:
            return Circuit(
                target: target, state: "half_open", failures: state.failuresInWindow,
                openUntilMillis: state.openUntilMillis, lastFailureMillis: last,
                probing: state.probeUntilMillis > nowMillis)
        }
    }
}

import Foundation
import GatewayCore
import Pipeline
import Store

/// What `llmgw check` says about budgets that cannot be enforced: a budget counts what targets
/// cost, so a budgeted key or team that can reach a target with no price (not in the shipped
/// table, no `price:`; Azure deployments are priced by the model their answers name) would
/// spend without limit there. The gateway skips such targets for budgeted callers and refuses
/// when none is left; `check` names them beforehand.
enum BudgetCheck {
    static func warnings(_ configuration: GatewayConfiguration) async -> [String] {
        let router = Router(configuration: configuration)
        let prices = PriceTable()
        var unpriced: [String: [String]] = [:]
        for model in router.modelNames {
            guard let route = try? router.route(for: model) else { continue }
            let names = route.candidates.filter {
                $0.price == nil && prices.price(for: $0.upstreamModel) == nil && $0.provider.kind != .azure
            }.map(\.label)
            if !names.isEmpty { unpriced[model] = names }
        }
        guard !unpriced.isEmpty else { return [] }
        var warnings = unpriced.keys.sorted().map { model in
            "models.\(model): no price for \(unpriced[model]!.joined(separator: ", ")): budgeted keys and teams "
                + "are not served there (set `price:` on the target)"
        }
        // Name the budgeted scopes of the shared state that can reach them (only if it exists:
        // `check` never creates state).
        guard FileManager.default.fileExists(atPath: configuration.state.path + "/durable/data.mdb"),
            let layout = try? SharedStateFactory.layout(configuration)
        else { return warnings }
        let keys = LMDBKeyStore(executor: layout.durable)
        for record in (try? await keys.allKeys()) ?? [] where record.revokedAtMillis == nil {
            var budgeted = record.limits.budget != nil
            if !budgeted, let team = record.team, let teamRecord = try? await keys.team(named: team) {
                budgeted = teamRecord.limits.budget != nil
            }
            guard budgeted else { continue }
            let reachable = unpriced.keys.filter { record.allowedModels?.contains($0) ?? true }.sorted()
            if !reachable.isEmpty {
                warnings.append(
                    "key:\(record.publicID) (\(record.name)) has a budget and may use unpriced "
                        + "\(reachable.joined(separator: ", "))")
            }
        }
        return warnings
    }
}

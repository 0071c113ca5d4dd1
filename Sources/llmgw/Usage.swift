import ArgumentParser
import GatewayCore
import Store

/// `llmgw usage`: spend and tokens per day, caller, team and model, from the shared state: the
/// host's LMDB, or with `shared:` the fleet's Redis (every host's totals).
struct Usage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show spend and tokens from the shared state.")

    @OptionGroup var options: ConfigOption
    @Option(help: "Only from this day on (YYYY-MM-DD).") var since: String?
    @Flag(help: "One JSON object per line instead of a table.") var json = false

    func run() async throws {
        let configuration = try loadConfiguration(options)
        let lines: [UsageLine]
        if let shared = configuration.shared {
            let store = try SharedStateFactory.redisAdmission(shared)
            defer { store.client.shutdown() }
            lines = try await store.usage(fromDay: since)
        } else {
            let executor = try SharedStateFactory.layout(configuration).volatile
            lines = try await LMDBAdmissionStore(executor: executor).usage(fromDay: since)
        }
        if json {
            for line in lines {
                var writer = JSONWriter()
                writer.object { json in
                    json.field("day", line.day)
                    json.field("caller", line.caller)
                    json.field("team", line.team)
                    json.field("model", line.model)
                    json.field("requests", Int(line.requests))
                    json.field("prompt_tokens", Int(line.promptTokens))
                    json.field("completion_tokens", Int(line.completionTokens))
                    json.field("cost_usd", Double(line.microUSD) / 1_000_000, decimals: 6)
                }
                print(String(decoding: writer.bytes, as: UTF8.self))
            }
            return
        }
        print(
            "DAY         CALLER                 TEAM         MODEL             REQUESTS   PROMPT   COMPLETION   COST_USD"
        )
        for line in lines {
            print(
                [
                    pad(line.day, 11), pad(line.caller, 22), pad(line.team, 12), pad(line.model, 17),
                    pad(String(line.requests), 10), pad(String(line.promptTokens), 8),
                    pad(String(line.completionTokens), 12),
                    String(Double(line.microUSD) / 1_000_000),
                ].joined(separator: " ")
            )
        }
    }
}

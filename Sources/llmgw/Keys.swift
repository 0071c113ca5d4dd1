import ArgumentParser
import GatewayCore
import Pipeline
import Store

/// `llmgw keys create|list|show|revoke`: virtual keys in the shared state. The full key is
/// printed once, by `create`; nothing else ever shows a secret.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage virtual keys.",
        subcommands: [Create.self, List.self, Show.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; prints it once on stdout.")

        @OptionGroup var options: ConfigOption
        @Option(help: "A name for the key (who or what uses it).") var name: String
        @Option(help: "Team whose shared limits and budget also apply.") var team: String?
        @Option(help: "Requests per minute.") var rpm: Int?
        @Option(help: "Tokens per minute.") var tpm: Int?
        @Option(name: .customLong("budget-usd"), help: "Budget in USD per period.") var budgetUSD: Double?
        @Option(name: .customLong("budget-period"), help: "day or month.") var budgetPeriod: String = "month"
        @Option(help: "Comma-separated model aliases the key may use (default: all).") var models: String?
        @Option(help: "Lifetime, e.g. 30d or 12h.") var expires: String?
        @Option(name: .customLong("metadata"), help: "key=value, repeatable.") var metadata: [String] = []

        func run() async throws {
            let configuration = try loadConfiguration(options)
            let limits = try CLILimits.parse(rpm: rpm, tpm: tpm, budgetUSD: budgetUSD, budgetPeriod: budgetPeriod)
            var expiresAt: Int64?
            if let expires {
                guard let duration = ConfigurationValue.duration(expires), duration > .zero else {
                    throw ValidationError("--expires: expected a duration like 30d or 12h")
                }
                expiresAt = CLIClock.nowMillis() + Int64(duration / .milliseconds(1))
            }
            var pairs: [String: String] = [:]
            for item in metadata {
                let parts = item.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { throw ValidationError("--metadata: expected key=value, got \(item)") }
                pairs[String(parts[0])] = String(parts[1])
            }
            let token = VirtualKeyToken.generate()
            let record = VirtualKeyRecord(
                publicID: token.publicID,
                name: name,
                team: team,
                secretHash: VirtualKeyHashing.hash(secret: token.secret),
                allowedModels: models.map { $0.split(separator: ",").map { String($0) } },
                limits: limits,
                createdAtMillis: CLIClock.nowMillis(),
                expiresAtMillis: expiresAt,
                metadata: pairs
            )
            try await LMDBKeyStore(executor: SharedStateFactory.layout(configuration).durable).insert(record)
            print(token.text)
            printToStandardError("created key:\(token.publicID) (\(name)); the key above is shown only once")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")

        @OptionGroup var options: ConfigOption

        func run() async throws {
            let store = LMDBKeyStore(executor: try SharedStateFactory.layout(try loadConfiguration(options)).durable)
            let now = CLIClock.nowMillis()
            print("ID            NAME                 TEAM         STATUS    RPM     TPM       BUDGET")
            for record in try await store.allKeys() {
                let status = record.unusableReason(atMillis: now) ?? "active"
                print(
                    [
                        pad(record.publicID, 13), pad(record.name, 20), pad(record.team ?? "-", 12), pad(status, 9),
                        pad(record.limits.requestsPerMinute.map(String.init) ?? "-", 7),
                        pad(record.limits.tokensPerMinute.map(String.init) ?? "-", 9),
                        record.limits.budget.map { "$\($0.usd)/\($0.period.rawValue)" } ?? "-",
                    ].joined(separator: " ")
                )
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one key's settings.")

        @OptionGroup var options: ConfigOption
        @Argument(help: "The key's public id.") var id: String

        func run() async throws {
            let store = LMDBKeyStore(executor: try SharedStateFactory.layout(try loadConfiguration(options)).durable)
            guard let record = try await store.key(publicID: id) else { throw ValidationError("no key with id \(id)") }
            print("id: \(record.publicID)\nname: \(record.name)\nteam: \(record.team ?? "-")")
            print("status: \(record.unusableReason(atMillis: CLIClock.nowMillis()) ?? "active")")
            print("models: \(record.allowedModels?.joined(separator: ",") ?? "all")")
            print("rpm: \(record.limits.requestsPerMinute.map(String.init) ?? "-")")
            print("tpm: \(record.limits.tokensPerMinute.map(String.init) ?? "-")")
            print("budget: \(record.limits.budget.map { "$\($0.usd) per \($0.period.rawValue)" } ?? "-")")
            for (key, value) in record.metadata.sorted(by: { $0.key < $1.key }) { print("metadata.\(key): \(value)") }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key (effective on the next request).")

        @OptionGroup var options: ConfigOption
        @Argument(help: "The key's public id, or its name when no other key has that name.") var key: String

        func run() async throws {
            let store = LMDBKeyStore(executor: try SharedStateFactory.layout(try loadConfiguration(options)).durable)
            let id = try Self.publicID(of: key, among: try await store.allKeys())
            guard try await store.revoke(publicID: id, atMillis: CLIClock.nowMillis()) else {
                throw ValidationError("no key with id \(id)")
            }
            print("revoked key:\(id)")
        }

        /// The id `text` names: a key's public id, else the one key named `text`. Several keys of
        /// that name are an error listing their ids (revoked keys are not counted).
        static func publicID(of text: String, among keys: [VirtualKeyRecord]) throws -> String {
            if keys.contains(where: { $0.publicID == text }) { return text }
            let named = keys.filter { $0.name == text && $0.revokedAtMillis == nil }
            switch named.count {
            case 1: return named[0].publicID
            case 0: throw ValidationError("no key with id or name \(text)")
            default:
                let ids = named.map(\.publicID).sorted().joined(separator: ", ")
                throw ValidationError("\(named.count) keys are named \(text) (\(ids)): revoke one by its id")
            }
        }
    }
}

/// `llmgw teams set NAME …`: a team's shared limits and budget.
struct Teams: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage team limits.", subcommands: [Set.self])

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a team's limits and budget.")

        @OptionGroup var options: ConfigOption
        @Argument(help: "Team name.") var name: String
        @Option(help: "Requests per minute.") var rpm: Int?
        @Option(help: "Tokens per minute.") var tpm: Int?
        @Option(name: .customLong("budget-usd"), help: "Budget in USD per period.") var budgetUSD: Double?
        @Option(name: .customLong("budget-period"), help: "day or month.") var budgetPeriod: String = "month"

        func run() async throws {
            let limits = try CLILimits.parse(rpm: rpm, tpm: tpm, budgetUSD: budgetUSD, budgetPeriod: budgetPeriod)
            let store = LMDBKeyStore(executor: try SharedStateFactory.layout(try loadConfiguration(options)).durable)
            try await store.setTeam(TeamRecord(name: name, limits: limits))
            print("team \(name) updated")
        }
    }
}

enum CLILimits {
    static func parse(rpm: Int?, tpm: Int?, budgetUSD: Double?, budgetPeriod: String) throws -> LimitSettings {
        // The same bounds as a target's rpm/tpm in the configuration; a budget of at most a
        // billion dollars keeps micro-USD arithmetic far from overflowing.
        let maximum = Int(Int32.max)
        if let rpm, !(1...maximum).contains(rpm) { throw ValidationError("--rpm must be from 1 to \(maximum)") }
        if let tpm, !(1...maximum).contains(tpm) { throw ValidationError("--tpm must be from 1 to \(maximum)") }
        var budget: Budget?
        if let budgetUSD {
            guard budgetUSD > 0, budgetUSD <= 1e9 else {
                throw ValidationError("--budget-usd must be positive and at most 1000000000")
            }
            guard let period = BudgetPeriod(rawValue: budgetPeriod) else {
                throw ValidationError("--budget-period must be day or month")
            }
            budget = Budget(usd: budgetUSD, period: period)
        }
        return LimitSettings(requestsPerMinute: rpm, tokensPerMinute: tpm, budget: budget)
    }
}

enum CLIClock {
    static func nowMillis() -> Int64 { Int64(Timestamp.epochMillis()) }
}

func loadConfiguration(_ options: ConfigOption) throws -> GatewayConfiguration {
    let path = try options.path()
    do {
        return try GatewayConfiguration.load(contentsOf: path)
    } catch {
        printToStandardError(String(describing: error))
        throw ExitCode(1)
    }
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

import GatewayCore

/// Rate limits, budgets and usage totals shared by every host through one Redis/Valkey: the
/// `AdmissionLedger` semantics of `LMDBAdmissionStore`, executed server-side. One script call per
/// admission checks and charges every scope atomically; one per settlement (`finish`) reconciles
/// the quotas and the caller's ticket and adds the usage totals. Both use the server's clock
/// (`TIME`), never the sidecar's `nowMillis`: hosts whose clocks disagree still share one count.
///
/// Keys (under `prefix`, default `llmgw:`), each with a TTL so nothing grows forever:
/// `rpm/<scope>`, `tpm/<scope>` (GCRA TATs in µs; 3 minutes), `budget/<scope>/<period>` (spend in
/// micro-USD; 3 days or 40 days), `usage/<day>/<caller>/<team>/<model>` (a hash: requests, prompt,
/// completion, micro_usd; 400 days). Not for Redis Cluster: the scripts build their keys.
public final class RedisAdmissionStore: SettlesInOneStep {
    /// Which clock the scripts use. Production: always `.server`.
    enum Clock: Sendable {
        case server
        /// The `nowMillis` of each call, sent to the script: ONLY for the differential tests that
        /// compare decisions with `AdmissionLedger` at fixed instants.
        case callerForTesting
    }

    public let client: RedisClient
    public let prefix: String
    let clock: Clock

    public convenience init(client: RedisClient, prefix: String = "llmgw:") {
        self.init(client: client, prefix: prefix, clock: .server)
    }

    init(client: RedisClient, prefix: String, clock: Clock) {
        self.client = client
        self.prefix = prefix
        self.clock = clock
    }

    /// For the gateway's start: the server answers with these credentials (`RedisClient.check`),
    /// and the user may run the scripts (they are loaded now, so the first request does not).
    public func check() async throws(RedisError) {
        try await client.check()
        let scripts = [RedisAdmissionScripts.admit, RedisAdmissionScripts.finish]
        let replies = try await client.pipeline(scripts.map { ["SCRIPT", "LOAD", $0.source] })
        for (script, reply) in zip(scripts, replies) where reply.text != script.sha1 {
            let why = if case .error(let message) = reply { message } else { "\(reply)" }
            throw RedisError(.server, "\(client.endpoint) cannot load the admission scripts: \(why)")
        }
    }

    public func admit(_ request: AdmissionRequest) async throws -> AdmissionDecision {
        let reserved = max(0, Int64(saturating: (request.estimatedCostUSD * 1_000_000).rounded(.up)))
        var arguments = [prefix, clockArgument(request.nowMillis), String(reserved), String(request.scopes.count)]
        for scope in request.scopes {
            let limits = scope.limits
            let tokenCost = limits.tokensPerMinute.map { max(0, min(request.estimatedTokens, $0)) }
            arguments += [
                scope.id,
                limits.requestsPerMinute.map { String(max(1, $0)) } ?? "",
                limits.tokensPerMinute.map { String(max(1, $0)) } ?? "",
                tokenCost.map(String.init) ?? "",
                limits.budget.map { String(Int64(saturating: ($0.usd * 1_000_000).rounded())) } ?? "",
                limits.budget?.period.rawValue ?? "",
            ]
        }
        let reply = try await client.evaluate(RedisAdmissionScripts.admit, arguments: arguments)
        return try Self.decision(reply, request: request, reservedMicroUSD: reserved)
    }

    /// The whole settlement of a request in one script call (one round trip, one atomic step).
    public func finish(quotas: [QuotaReconciliation], caller: AdmissionTicket?, charge: UsageCharge?) async throws {
        var operations: [String] = []
        for quota in quotas {
            // A quota has no cost of its own: what was reserved stays charged.
            operations += Self.settlement(
                quota.ticket, actualTokens: quota.actualTokens, actualMicroUSD: quota.ticket.reservedMicroUSD)
        }
        if let charge {
            if let caller {
                operations += Self.settlement(
                    caller, actualTokens: charge.usage.totalTokens,
                    actualMicroUSD: max(0, Int64(saturating: (charge.costUSD * 1_000_000).rounded())))
            }
            let line = UsageLine.adding(charge, to: nil)
            operations += ["U", Self.usageSuffix(line)] + line.values.dropFirst().map(String.init)
        }
        guard !operations.isEmpty else { return }
        let now = charge?.nowMillis ?? quotas.first?.nowMillis ?? 0
        let reply = try await client.evaluate(
            RedisAdmissionScripts.finish, arguments: [prefix, clockArgument(now)] + operations)
        if case .error(let message) = reply { throw RedisError(.server, "settlement script: \(message)") }
    }

    /// Usage lines from a SCAN of `usage/…`, with one pipelined HMGET per page of keys (so each
    /// call stays small against the timeout).
    public func usage(fromDay: String?) async throws -> [UsageLine] {
        var lines: [UsageLine] = []
        var cursor = "0"
        repeat {
            let page = try await usagePage(cursor, fromDay: fromDay)
            cursor = page.next
            lines += page.lines
        } while cursor != "0"
        // SCAN may return a key twice; the last reading wins.
        var unique: [String: UsageLine] = [:]
        for line in lines { unique[line.key] = line }
        return unique.values.sorted { $0.key < $1.key }
    }

    /// One SCAN page of usage keys and their lines. (Its own typed-throws function: the same loop
    /// inline in `usage` crashes the 6.3 optimizer's coroutine splitting in release builds.)
    private func usagePage(_ cursor: String, fromDay: String?) async throws(RedisError) -> (
        next: String, lines: [UsageLine]
    ) {
        let pattern = Self.globEscaped(prefix) + "usage/*"
        let fields = ["requests", "prompt", "completion", "micro_usd"]
        let reply = try await client.command(["SCAN", cursor, "MATCH", pattern, "COUNT", "500"])
        guard let parts = reply.array, parts.count == 2, let next = parts[0].text, let found = parts[1].array else {
            throw RedisError(.protocolViolation, "unexpected SCAN reply")
        }
        let keys = found.compactMap(\.text)
        let replies = try await client.pipeline(keys.map { ["HMGET", $0] + fields })
        var lines: [UsageLine] = []
        for (key, reply) in zip(keys, replies) {
            guard let values = reply.array?.map({ $0.integer ?? 0 }),
                let line = UsageLine(key: String(key.dropFirst(prefix.count)), values: values),
                fromDay.map({ line.day >= $0 }) ?? true
            else { continue }
            lines.append(line)
        }
        return (next, lines)
    }

    private func clockArgument(_ nowMillis: Int64) -> String {
        switch clock {
        case .server: ""
        case .callerForTesting: String(nowMillis.multipliedSaturating(by: 1000))
        }
    }

    /// `AdmissionLedger.settle` as script operations: the same deltas, the same conditions.
    private static func settlement(_ ticket: AdmissionTicket, actualTokens: Int, actualMicroUSD: Int64) -> [String] {
        let tokenDelta = max(0, actualTokens).addingSaturating(-ticket.reservedTokens)
        let costDelta = actualMicroUSD.addingSaturating(-ticket.reservedMicroUSD)
        var operations: [String] = []
        for scope in ticket.scopes {
            if let tpm = scope.limits.tokensPerMinute, tokenDelta != 0 {
                operations += ["T", scope.id, String(max(1, tpm)), String(tokenDelta)]
            }
            if let budget = scope.limits.budget, costDelta != 0 {
                // Charged to the period of admission (the server's clock, kept in the ticket).
                let key = AdmissionLedger.budgetKey(scope.id, budget.period, ticket.admittedAtMillis)
                let ttl = budget.period == .day ? "259200000" : "3456000000"
                operations += ["B", key, String(costDelta), ttl]
            }
        }
        return operations
    }

    /// `<caller>/<team>/<model>` of a usage key, escaped as `UsageLine.key` escapes them; the
    /// script puts the server's day in front.
    private static func usageSuffix(_ line: UsageLine) -> String {
        var dayless = line
        dayless.day = ""
        return String(dayless.key.dropFirst("usage//".count))
    }

    private static func globEscaped(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if "*?[]\\".contains(character) { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    private static func decision(
        _ reply: RedisReply, request: AdmissionRequest, reservedMicroUSD: Int64
    ) throws(RedisError) -> AdmissionDecision {
        guard let parts = reply.array?.map(\.integer), let kind = parts.first ?? nil else {
            if case .error(let message) = reply { throw RedisError(.server, "admission script: \(message)") }
            throw RedisError(.protocolViolation, "unexpected admission script reply")
        }
        func value(_ index: Int) throws(RedisError) -> Int64 {
            guard index < parts.count, let value = parts[index] else {
                throw RedisError(.protocolViolation, "short admission script reply")
            }
            return value
        }
        func scope(_ index: Int) throws(RedisError) -> AdmissionScope {
            let position = Int(try value(index)) - 1
            guard request.scopes.indices.contains(position) else {
                throw RedisError(.protocolViolation, "admission script named no scope")
            }
            return request.scopes[position]
        }
        func figure(_ index: Int) throws(RedisError) -> Int? {
            let number = try value(index)
            return number < 0 ? nil : Int(number)
        }
        switch kind {
        case 1:
            var ticket = AdmissionTicket(
                scopes: request.scopes, reservedTokens: request.estimatedTokens, reservedMicroUSD: reservedMicroUSD,
                admittedAtMillis: try value(1) / 1000)
            ticket.remainingRequests = try figure(2)
            ticket.limitRequests = try figure(3)
            ticket.remainingTokens = try figure(4)
            ticket.limitTokens = try figure(5)
            return .admitted(ticket)
        case 2:
            let refused = try scope(1)
            let requests = try value(2) == 1
            return .rateLimited(
                scope: refused.id, metric: requests ? "requests" : "tokens",
                limit: (requests ? refused.limits.requestsPerMinute : refused.limits.tokensPerMinute) ?? 0,
                retryAfterMillis: (try value(3) + 999) / 1000)
        case 3:
            let refused = try scope(1)
            guard let budget = refused.limits.budget else {
                throw RedisError(.protocolViolation, "admission script refused a scope without a budget")
            }
            return .budgetExceeded(scope: refused.id, budget: budget, spentUSD: Double(try value(2)) / 1_000_000)
        default:
            throw RedisError(.protocolViolation, "unknown admission script decision \(kind)")
        }
    }
}

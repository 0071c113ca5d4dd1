extension ConfigurationLoader {
    /// `callers:`: local processes by uid/user and gid/group, each with its own limits, budget,
    /// team and models. Names are resolved in the passwd and group databases now, so an unknown
    /// user or group is an error of the file (with its line), not of a request.
    static func callers(_ root: ConfigReader, models: Set<String>, mode: AuthConfiguration.Mode)
        -> [CallerConfiguration]
    {
        var callers: [CallerConfiguration] = []
        var seen: [String: Int] = [:]
        let count = root.list("callers") { index, item in
            item.mapping { entry in
                entry.expectOnly([
                    "name", "uid", "user", "gid", "group", "rpm", "tpm", "budget_usd", "budget_period", "team",
                    "models", "guardrails",
                ])
                entry.require("name")
                let name = entry.string("name")
                if let name {
                    if !Self.isCallerName(name) {
                        entry.child("name")?.fail(
                            "use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
                    } else if let first = seen[name] {
                        entry.child("name")?.fail("duplicate caller name \"\(name)\" (first at callers[\(first)])")
                    } else {
                        seen[name] = index
                    }
                }
                let uid = account(entry, number: "uid", name: "user", database: "passwd", AccountDatabase.userID)
                let gid = account(entry, number: "gid", name: "group", database: "group", AccountDatabase.groupID)
                if !["uid", "user", "gid", "group"].contains(where: entry.has) {
                    entry.fail("a caller needs uid, user, gid or group to be recognized by")
                }
                var limits = LimitSettings(
                    requestsPerMinute: entry.int("rpm", in: 1...Int(Int32.max)),
                    tokensPerMinute: entry.int("tpm", in: 1...Int(Int32.max)))
                let period = entry.choice("budget_period", as: BudgetPeriod.self)
                if let usd = entry.value("budget_usd", expected: "US dollars (0 to 1000000000)", Self.budgetUSD) {
                    limits.budget = Budget(usd: usd, period: period ?? .month)
                } else if entry.has("budget_period") {
                    entry.child("budget_period")?.fail("budget_period needs budget_usd")
                }
                var allowed: [String]?
                entry.list("models") { _, model in
                    guard let text = model.scalarText(expected: "a model name") else { return }
                    if models.contains(text) {
                        allowed = (allowed ?? []) + [text]
                    } else {
                        model.fail("unknown model \"\(text)\"")
                    }
                }
                if entry.has("models"), allowed == nil { allowed = [] }
                if let name {
                    var caller = CallerConfiguration(
                        name: name, uid: uid, gid: gid, limits: limits, team: entry.string("team"),
                        allowedModels: allowed)
                    caller.guardrails = guardrailNames(entry, declared: declaredGuardrailNames(root))
                    callers.append(caller)
                }
            }
        }
        if let count, count > 0, !(mode == .peer || mode == .keysOrPeer || mode == .none) {
            root.child("callers")?.fail(
                "callers are recognized by their Unix-socket credentials: set auth.mode to peer, keys_or_peer or none")
        }
        return callers
    }

    /// `number` (a numeric id) or `name` (looked up in the database), not both.
    private static func account(
        _ entry: ConfigReader, number: String, name: String, database: String, _ lookup: (String) -> UInt32?
    ) -> UInt32? {
        if entry.has(number) && entry.has(name) {
            entry.child(name)?.fail("set \(number) or \(name), not both")
            return nil
        }
        if entry.has(number) {
            return entry.value(number, expected: "a numeric id", { UInt32($0) })
        }
        guard let text = entry.string(name) else { return nil }
        guard let id = lookup(text) else {
            entry.child(name)?.fail("no \(name) \"\(text)\" in the \(database) database")
            return nil
        }
        return id
    }

    static func isCallerName(_ name: String) -> Bool {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
        guard let first = name.utf8.first, allowed, name.utf8.count <= 64 else { return false }
        return first != UInt8(ascii: ".") && first != UInt8(ascii: "_") && first != UInt8(ascii: "-")
    }

    static func budgetUSD(_ text: String) -> Double? {
        guard let value = Double(text), value >= 0, value <= 1_000_000_000 else { return nil }
        return value
    }
}

import GatewayCore
import Testing

/// `callers:` in the config file: names resolved in the passwd and group databases at load, every
/// mistake reported with its path.
struct CallerConfigurationTests {
    private func parse(_ callers: String, mode: String = "peer") throws -> GatewayConfiguration {
        try GatewayConfiguration.parse(
            yaml: smallestConfiguration + "\nauth: { mode: \(mode) }\ncallers:\n" + callers, source: "config.yaml")
    }

    private func errors(_ callers: String, mode: String = "peer") -> [ConfigurationError] {
        configurationErrors(smallestConfiguration + "\nauth: { mode: \(mode) }\ncallers:\n" + callers)
    }

    @Test func everyKeyIsRead() throws {
        let configuration = try parse(
            """
              - { name: billing, uid: 1001, rpm: 60, tpm: 100000, budget_usd: 25.5, budget_period: day, team: pay, models: [smart] }
              - { name: ops, user: root }
              - { name: batch, group: root, budget_usd: 10 }
              - { name: both, uid: 7, gid: 8 }
            """, mode: "keys_or_peer")
        #expect(configuration.auth.mode == .keysOrPeer)
        #expect(
            configuration.callers[0]
                == CallerConfiguration(
                    name: "billing", uid: 1001,
                    limits: LimitSettings(
                        requestsPerMinute: 60, tokensPerMinute: 100_000, budget: Budget(usd: 25.5, period: .day)),
                    team: "pay", allowedModels: ["smart"]))
        #expect(configuration.callers[1] == CallerConfiguration(name: "ops", uid: 0))
        #expect(configuration.callers[2].gid == 0)
        #expect(configuration.callers[2].limits.budget == Budget(usd: 10, period: .month))
        #expect(configuration.caller(uid: 7, gid: 8, groups: [])?.name == "both")
        #expect(configuration.caller(uid: 7, gid: 9, groups: [8])?.name == "both")
        #expect(configuration.caller(uid: 7, gid: 9, groups: [])?.name == nil)
        // File order decides: root (uid 0) is `ops` before it is `batch` (gid 0).
        #expect(configuration.caller(uid: 0, gid: 0, groups: [])?.name == "ops")
        #expect(configuration.caller(uid: 5, gid: 0, groups: [])?.name == "batch")
    }

    @Test func mistakesAreReportedWithTheirPath() {
        let found = errors(
            """
              - { name: a, user: no-such-user-llmgw }
              - { name: b, group: no-such-group-llmgw }
              - { name: c, uid: 1, user: root }
              - { name: d }
              - { name: e, uid: 2, models: [nope] }
              - { name: "bad name", uid: 3 }
              - { name: f, uid: 4, budget_period: day }
              - { name: f, uid: 5, colour: blue }
            """)
        let byPath = Dictionary(found.map { ($0.path, $0.message) }, uniquingKeysWith: { $0 + "; " + $1 })
        #expect(byPath["callers[0].user"]?.contains("no user \"no-such-user-llmgw\" in the passwd database") == true)
        #expect(byPath["callers[1].group"]?.contains("no group \"no-such-group-llmgw\" in the group database") == true)
        #expect(byPath["callers[2].user"]?.contains("set uid or user, not both") == true)
        #expect(byPath["callers[3]"]?.contains("needs uid, user, gid or group") == true)
        #expect(byPath["callers[4].models[0]"]?.contains("unknown model \"nope\"") == true)
        #expect(byPath["callers[5].name"] != nil)
        #expect(byPath["callers[6].budget_period"]?.contains("needs budget_usd") == true)
        #expect(byPath["callers[7].name"]?.contains("duplicate caller name") == true)
        #expect(found.contains { $0.path == "callers[7].colour" && $0.message.contains("unknown key") })
    }

    @Test func callersNeedAModeThatReadsPeers() {
        let found = errors("  - { name: a, uid: 1 }\n", mode: "keys")
        #expect(found.contains { $0.path == "callers" && $0.message.contains("auth.mode") })
        #expect(errors("  - { name: a, uid: 1 }\n", mode: "none").isEmpty)
    }
}

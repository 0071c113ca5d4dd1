/// `shared:`: the fleet tier of the state (docs/design.md, "Two tiers"). Limits, budgets and spend
/// of every host go through one Redis or Valkey server; the response cache, circuits and latency
/// statistics stay in each host's LMDB.
public struct SharedConfiguration: Sendable, Equatable {
    /// What admission does when the shared server fails or is slower than `timeout`.
    public enum OnError: String, Sendable, CaseIterable {
        /// This host's LMDB limits, each scaled by `local_share`; shared counting resumes when the
        /// server answers again.
        case local
        /// Refused with 503 until the server answers again.
        case deny
        /// Admitted; the usage is counted when the server answers again (bounded, see docs).
        case allow
    }

    /// `redis://[user[:password]@]host:port[/db]` or `unix:///path/redis.sock[?db=N]`.
    public var redis: String
    /// ACL user and password (`env:NAME`, `file:PATH` or a literal), resolved at start.
    public var username: SecretReference?
    public var password: SecretReference?
    /// Every call to the server: connect, admission, settlement.
    public var timeout: Duration = .milliseconds(250)
    public var onError: OnError = .local
    /// `on_error: local`: the share of each limit this host enforces alone (1 = the whole limit).
    public var localShare: Double = 1
    /// Connections per sidecar.
    public var pool: Int = 4
    /// Prefix of every key llmgw writes, so several fleets can share one server.
    public var prefix: String = "llmgw:"

    public init(redis: String) {
        self.redis = redis
    }
}

extension ConfigurationLoader {
    static func shared(_ reader: ConfigReader) -> SharedConfiguration? {
        reader.expectOnly(["redis", "username", "password", "timeout", "on_error", "local_share", "pool", "prefix"])
        reader.require("redis")
        guard let url = reader.string("redis") else { return nil }
        if !(url.hasPrefix("redis://") || url.hasPrefix("unix://")) {
            reader.child("redis")?.fail("expected redis://host:port[/db] or unix:///path/to/redis.sock")
        }
        if url.contains("@"), let at = url.firstIndex(of: "@"), url[..<at].contains(":"), url.hasPrefix("redis://") {
            reader.child("redis")?.fail("put the password in shared.password (env: or file:), not in the URL")
        }
        var shared = SharedConfiguration(redis: url)
        if let text = reader.string("username"), let child = reader.child("username") {
            shared.username = secretReference(text, child)
        }
        if let text = reader.string("password"), let child = reader.child("password") {
            shared.password = secretReference(text, child)
        }
        if let timeout = reader.duration("timeout") {
            if timeout >= .milliseconds(1) && timeout <= .seconds(30) {
                shared.timeout = timeout
            } else {
                reader.child("timeout")?.fail("expected between 1ms and 30s")
            }
        }
        shared.onError = reader.choice("on_error", as: SharedConfiguration.OnError.self) ?? shared.onError
        if let share = reader.value("local_share", expected: "a fraction above 0, at most 1", { Double($0) }) {
            if share > 0 && share <= 1 {
                shared.localShare = share
            } else {
                reader.child("local_share")?.fail("expected a fraction above 0, at most 1")
            }
        }
        shared.pool = reader.int("pool", in: 1...64) ?? shared.pool
        if let prefix = reader.string("prefix") { shared.prefix = prefix }
        return shared
    }
}

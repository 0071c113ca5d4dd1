/// Where the shared Redis/Valkey is and how to log in: `redis://[user[:password]@]host[:port][/db]`
/// or `unix:///path/to/redis.sock[?db=N]`. A `username`/`password` given separately (the
/// configuration resolves `env:`/`file:` for them) replaces the one in the URL.
///
/// `rediss://` (TLS) is refused: Debian 12's hiredis 0.14 has no TLS. The description never shows
/// the password.
public struct RedisEndpoint: Sendable, Equatable, CustomStringConvertible, CustomReflectable {
    public enum Address: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var address: Address
    public var database: Int
    public var username: String?
    /// Never printed (see `description`).
    public var password: String?

    public init(address: Address, database: Int = 0, username: String? = nil, password: String? = nil) {
        self.address = address
        self.database = database
        self.username = username
        self.password = password
    }

    public init(url: String, username: String? = nil, password: String? = nil) throws(RedisError) {
        func invalid(_ why: String) -> RedisError {
            // The URL itself may hold a password: only its scheme is repeated.
            RedisError(.invalidEndpoint, "shared.redis: \(why)")
        }
        if url.hasPrefix("rediss://") {
            throw invalid(
                "rediss:// (TLS) is not supported: the hiredis 0.14 of Debian 12 has no TLS; use a Unix socket, "
                    + "a private network, or a local TLS tunnel (stunnel, spiped)")
        }
        if url.hasPrefix("unix://") {
            var rest = Substring(url.dropFirst("unix://".count))
            var database = 0
            if let question = rest.firstIndex(of: "?") {
                let query = rest[rest.index(after: question)...]
                rest = rest[..<question]
                guard query.hasPrefix("db="), let number = Int(query.dropFirst(3)), number >= 0 else {
                    throw invalid("a unix:// URL takes only ?db=N (N a database number)")
                }
                database = number
            }
            guard rest.hasPrefix("/"), rest.count > 1 else {
                throw invalid("a unix:// URL needs an absolute socket path (unix:///run/redis/redis.sock)")
            }
            self.init(address: .unix(path: String(rest)), database: database)
        } else if url.hasPrefix("redis://") {
            var rest = Substring(url.dropFirst("redis://".count))
            var user: String?
            var secret: String?
            if let at = rest.lastIndex(of: "@") {
                let userinfo = rest[..<at]
                rest = rest[rest.index(after: at)...]
                let parts = userinfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                guard let name = Self.percentDecoded(parts[0]),
                    let pass = parts.count > 1 ? Self.percentDecoded(parts[1]) : ""
                else { throw invalid("bad percent-encoding in the user or password of the URL") }
                user = name.isEmpty ? nil : name
                secret = parts.count > 1 ? pass : nil
            }
            var database = 0
            if let slash = rest.firstIndex(of: "/") {
                let path = rest[rest.index(after: slash)...]
                rest = rest[..<slash]
                if !path.isEmpty {
                    guard let number = Int(path), number >= 0 else {
                        throw invalid("the path of a redis:// URL is a database number (redis://host:6379/0)")
                    }
                    database = number
                }
            }
            var host = rest
            var port = 6379
            if host.hasPrefix("[") {  // [::1]:6379
                guard let close = host.firstIndex(of: "]") else { throw invalid("unclosed [ in the host") }
                let after = host[host.index(after: close)...]
                host = host[host.index(after: host.startIndex)..<close]
                if !after.isEmpty {
                    guard after.hasPrefix(":"), let number = Int(after.dropFirst()) else {
                        throw invalid("bad port after the IPv6 host")
                    }
                    port = number
                }
            } else if let colon = host.lastIndex(of: ":") {
                guard let number = Int(host[host.index(after: colon)...]) else {
                    throw invalid("the port must be a number")
                }
                port = number
                host = host[..<colon]
            }
            guard !host.isEmpty else { throw invalid("a redis:// URL needs a host") }
            guard (1...65535).contains(port) else { throw invalid("the port must be between 1 and 65535") }
            self.init(
                address: .tcp(host: String(host), port: port), database: database, username: user, password: secret)
        } else {
            throw invalid("expected redis://host:port/db or unix:///path/to/redis.sock")
        }
        if let username { self.username = username }
        if let password { self.password = password }
        if self.username != nil && self.password == nil {
            throw invalid("an ACL user needs a password")
        }
    }

    /// `redis://user:***@host:6379/0`, `unix:///run/redis.sock?db=1`: never the password.
    public var description: String {
        let login = username.map { "\($0)\(password == nil ? "" : ":***")@" } ?? (password == nil ? "" : ":***@")
        switch address {
        case .tcp(let host, let port):
            let shown = host.contains(":") ? "[\(host)]" : host
            return "redis://\(login)\(shown):\(port)/\(database)"
        case .unix(let path):
            return "unix://\(path)\(database == 0 ? "" : "?db=\(database)")"
        }
    }

    /// `dump` and reflection show the description, not the stored password.
    public var customMirror: Mirror { Mirror(self, children: ["endpoint": description]) }

    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return nil }
            bytes.append(value)
        }
        return String(validating: bytes, as: UTF8.self)
    }
}

import RedisStore
import Testing

@Suite struct RedisEndpointTests {
    @Test func parsesTCPWithCredentialsAndDatabase() throws {
        let endpoint = try RedisEndpoint(url: "redis://alice:s%40cret@redis.internal:6380/3")
        #expect(endpoint.address == .tcp(host: "redis.internal", port: 6380))
        #expect(endpoint.database == 3)
        #expect(endpoint.username == "alice")
        #expect(endpoint.password == "s@cret")
        #expect(endpoint.description == "redis://alice:***@redis.internal:6380/3")
    }

    @Test func defaultsPortAndDatabase() throws {
        let endpoint = try RedisEndpoint(url: "redis://127.0.0.1")
        #expect(endpoint.address == .tcp(host: "127.0.0.1", port: 6379))
        #expect(endpoint.database == 0)
        #expect(endpoint.password == nil)
        let v6 = try RedisEndpoint(url: "redis://:pw@[::1]:7000/1")
        #expect(v6.address == .tcp(host: "::1", port: 7000))
        #expect(v6.username == nil)
        #expect(v6.password == "pw")
        #expect(v6.description == "redis://:***@[::1]:7000/1")
    }

    @Test func parsesUnixSocket() throws {
        let endpoint = try RedisEndpoint(url: "unix:///run/redis/redis.sock?db=2")
        #expect(endpoint.address == .unix(path: "/run/redis/redis.sock"))
        #expect(endpoint.database == 2)
        #expect(try RedisEndpoint(url: "unix:///run/redis.sock").database == 0)
    }

    @Test func separateCredentialsReplaceTheURLs() throws {
        let endpoint = try RedisEndpoint(url: "redis://old:old@host:1/0", username: "svc", password: "fromenv")
        #expect(endpoint.username == "svc")
        #expect(endpoint.password == "fromenv")
    }

    @Test(arguments: [
        "http://host", "redis://", "redis://host:port", "redis://host:0", "redis://host:6379/x", "unix://relative",
        "unix:///run/redis.sock?database=1", "redis://user@host", "redis://:pw%zz@host", "rediss://host:6380",
    ])
    func refusesMalformedURLs(_ url: String) {
        #expect(throws: RedisError.self) { try RedisEndpoint(url: url) }
        do {
            _ = try RedisEndpoint(url: url)
        } catch {
            #expect(error.code == .invalidEndpoint)
            #expect(error.description.hasPrefix("redis invalidEndpoint: shared.redis:"))
        }
    }

    @Test func tlsIsRefusedWithTheReason() {
        #expect(throws: RedisError.self) { try RedisEndpoint(url: "rediss://:topsecret@host:6380") }
        do {
            _ = try RedisEndpoint(url: "rediss://:topsecret@host:6380")
        } catch {
            #expect(error.description.contains("hiredis 0.14"))
            #expect(!error.description.contains("topsecret"))
        }
    }

    @Test func reflectionHidesThePassword() throws {
        let endpoint = try RedisEndpoint(url: "redis://:topsecret@host")
        var dumped = ""
        dump(endpoint, to: &dumped)
        #expect(!dumped.contains("topsecret"))
        #expect(!String(describing: endpoint).contains("topsecret"))
        #expect(!String(reflecting: endpoint).contains("topsecret"))
    }
}

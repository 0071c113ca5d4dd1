import Foundation
import RedisStore
import Testing

@Suite(.enabled(if: RedisServerProcess.isInstalled, RedisServerProcess.notInstalled), .serialized)
struct RedisClientTests {
    @Test func commandsPipelinesAndReplies() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.shutdown() }
        try await client.check()
        #expect(try await client.command(["SET", "k", "v"]) == .status("OK"))
        #expect(try await client.command(["GET", "k"]) == .string(Array("v".utf8)))
        #expect(try await client.command(["GET", "missing"]) == .null)
        let replies = try await client.pipeline([["INCR", "n"], ["INCRBY", "n", "41"], ["LPUSH", "l", "a", "b"]])
        #expect(replies == [.integer(1), .integer(42), .integer(2)])
        #expect(try await client.command(["LRANGE", "l", "0", "-1"]) == .array([.string([98]), .string([97])]))
        guard case .error(let message) = try await client.command(["NOSUCHCOMMAND"]) else {
            Issue.record("an unknown command must answer an error reply")
            return
        }
        #expect(message.hasPrefix("ERR"))
    }

    @Test func talksTCPOnLoopbackAndFailsFastWhereNothingListens() async throws {
        let port = Int.random(in: 20_000...60_000)
        let server = try RedisServerProcess(["--port", String(port), "--bind", "127.0.0.1"])
        defer { server.stop() }
        let endpoint = try RedisEndpoint(url: "redis://127.0.0.1:\(port)/2")
        let client = RedisClient(endpoint: endpoint)
        defer { client.shutdown() }
        try await client.check()
        #expect(try await client.command(["SET", "k", "on-db-2"]) == .status("OK"))
        let local = RedisClient(endpoint: RedisEndpoint(address: .unix(path: server.socket), database: 2))
        defer { local.shutdown() }
        #expect(try await local.command(["GET", "k"]).text == "on-db-2")

        server.stop()
        let clock = ContinuousClock()
        let started = clock.now
        let refused = await #expect(throws: RedisError.self) { try await client.check() }
        #expect(refused?.code == .unavailable)
        #expect(clock.now - started < .milliseconds(250))
    }

    @Test func scriptsLoadOnNOSCRIPT() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let client = RedisClient(endpoint: server.endpoint)
        defer { client.shutdown() }
        let script = RedisScript("return tonumber(ARGV[1]) + 1")
        #expect(try await client.evaluate(script, arguments: ["1"]) == .integer(2))
        #expect(try await client.command(["SCRIPT", "EXISTS", script.sha1]) == .array([.integer(1)]))
        _ = try await client.command(["SCRIPT", "FLUSH"])
        #expect(try await client.evaluate(script, arguments: ["41"]) == .integer(42))
    }

    @Test func requirepassLogsInAndWrongPasswordsFailClearly() async throws {
        let secret = "pw-\(UUID().uuidString)"
        let server = try RedisServerProcess(["--requirepass", secret])
        defer { server.stop() }
        var endpoint = server.endpoint
        endpoint.password = secret
        let good = RedisClient(endpoint: endpoint)
        defer { good.shutdown() }
        try await good.check()

        let wrong = "wrong-\(UUID().uuidString)"
        endpoint.password = wrong
        let bad = RedisClient(endpoint: endpoint)
        defer { bad.shutdown() }
        let refused = await #expect(throws: RedisError.self) { try await bad.check() }
        #expect(refused?.code == .authentication)
        #expect(refused.map { !$0.description.contains(wrong) && !$0.description.contains(secret) } ?? false)

        let none = RedisClient(endpoint: server.endpoint)
        defer { none.shutdown() }
        let noAuth = await #expect(throws: RedisError.self) { try await none.check() }
        #expect(noAuth?.code == .authentication)
        #expect(noAuth?.description.contains("requires a password") == true)

        // Nor in the errors of a server that went away.
        server.stop()
        endpoint.password = secret
        for client in [good, RedisClient(endpoint: endpoint)] {
            let gone = await #expect(throws: RedisError.self) { try await client.command(["PING"]) }
            #expect(gone.map { !$0.description.contains(secret) && !"\($0)".contains(secret) } ?? false)
        }
    }

    @Test func aclUserLogsInAndWrongCredentialsFailClearly() async throws {
        let admin = "admin-\(UUID().uuidString)"
        let server = try RedisServerProcess(["--requirepass", admin])
        defer { server.stop() }
        var endpoint = server.endpoint
        endpoint.password = admin
        let root = RedisClient(endpoint: endpoint)
        defer { root.shutdown() }
        let secret = "alice-\(UUID().uuidString)"
        #expect(
            try await root.command(["ACL", "SETUSER", "alice", "on", ">\(secret)", "~llmgw:*", "+@all"])
                == .status("OK"))

        endpoint.username = "alice"
        endpoint.password = secret
        let alice = RedisClient(endpoint: endpoint)
        defer { alice.shutdown() }
        try await alice.check()
        #expect(try await alice.command(["SET", "llmgw:x", "1"]) == .status("OK"))

        endpoint.password = "not-\(secret)"
        let wrong = RedisClient(endpoint: endpoint)
        defer { wrong.shutdown() }
        let refused = await #expect(throws: RedisError.self) { try await wrong.check() }
        #expect(refused?.code == .authentication)
        #expect(refused?.description.contains("alice") == true)
        #expect(refused.map { !$0.description.contains(secret) } ?? false)

        // A user that may not run scripts fails the store's start check, not its first request.
        #expect(
            try await root.command(["ACL", "SETUSER", "bob", "on", ">bobpw", "~llmgw:*", "+@all", "-@scripting"])
                == .status("OK"))
        let bob = RedisClient(endpoint: RedisEndpoint(address: endpoint.address, username: "bob", password: "bobpw"))
        defer { bob.shutdown() }
        try await bob.check()
        let noScripts = await #expect(throws: RedisError.self) { try await RedisAdmissionStore(client: bob).check() }
        #expect(noScripts?.description.contains("cannot load the admission scripts") == true)

        endpoint.username = "nobody"
        let unknown = RedisClient(endpoint: endpoint)
        defer { unknown.shutdown() }
        let unknownRefused = await #expect(throws: RedisError.self) { try await unknown.check() }
        #expect(unknownRefused?.code == .authentication)
    }

    @Test func killedServerFailsFastAndTheClientReconnectsAfterARestart() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let timeout = Duration.milliseconds(300)
        let client = RedisClient(
            endpoint: server.endpoint,
            configuration: .init(timeout: timeout, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(200)))
        defer { client.shutdown() }
        #expect(try await client.command(["INCR", "n"]) == .integer(1))

        server.stop()
        let clock = ContinuousClock()
        for _ in 0..<20 {
            let started = clock.now
            let failure = await #expect(throws: RedisError.self) { try await client.command(["INCR", "n"]) }
            #expect(failure?.code == .unavailable || failure?.code == .timeout)
            #expect(clock.now - started < timeout + .milliseconds(200))
        }

        try server.start()
        let deadline = clock.now + .seconds(10)
        var reply: RedisReply?
        while reply == nil && clock.now < deadline {
            reply = try? await client.command(["INCR", "n"])
            if reply == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(reply == .integer(1))  // a fresh server (no persistence)
        try await client.check()
    }

    @Test func aSlowServerIsBoundedByTheTimeout() async throws {
        let server = try RedisServerProcess()
        defer { server.stop() }
        let timeout = Duration.milliseconds(300)
        let client = RedisClient(endpoint: server.endpoint, configuration: .init(connections: 2, timeout: timeout))
        let sleeper = RedisClient(endpoint: server.endpoint, configuration: .init(timeout: .seconds(5)))
        defer {
            client.shutdown()
            sleeper.shutdown()
        }
        try await client.check()
        let sleeping = Task { try await sleeper.command(["DEBUG", "SLEEP", "2"]) }
        try await Task.sleep(for: .milliseconds(200))

        let clock = ContinuousClock()
        // More calls than connections: the queued ones are bounded too.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let started = clock.now
                    let failure = await #expect(throws: RedisError.self) { try await client.command(["PING"]) }
                    #expect(failure?.code == .timeout)
                    #expect(clock.now - started < timeout + .milliseconds(250))
                }
            }
            try await group.waitForAll()
        }
        #expect(try await sleeping.value == .status("OK"))
        try await client.check()
    }
}

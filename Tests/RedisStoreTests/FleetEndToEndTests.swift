import Foundation
import GatewayTesting
import RedisStore
import Testing

/// The fleet tier end to end: two "hosts" (two state directories, two `llmgw serve` sidecars
/// each) in front of one mock, sharing one Redis through `shared:`.
@Suite(.enabled(if: RedisServerProcess.isInstalled, RedisServerProcess.notInstalled), .serialized)
struct FleetEndToEndTests {
    static let limit = 10
    static let models = """
          - name: fleet
            targets: [{ provider: mock, model: gpt-4o-mini, rpm: \(limit) }]
        """

    /// Sends `count` requests at once, spread over both hosts' sidecars; returns the statuses.
    static func burst(_ hosts: [(SidecarGroup, String)], count: Int) async -> [Int] {
        await withTaskGroup(of: Int.self) { tasks in
            for index in 0..<count {
                let (group, key) = hosts[index % hosts.count]
                let sidecar = (index / hosts.count) % group.count
                tasks.addTask {
                    let body = #"{"model":"fleet","messages":[{"role":"user","content":"hello"}]}"#
                    let response = try? await group.client(sidecar).post(
                        "/v1/chat/completions", json: body, headers: [("authorization", "Bearer \(key)")])
                    return response?.status ?? -1
                }
            }
            return await tasks.reduce(into: []) { $0.append($1) }
        }
    }

    /// Every key the server holds with its value (strings and hashes), as `redis-cli --scan` and
    /// a dump of each would show them.
    static func dump(_ redis: RedisServerProcess) async throws -> String {
        let client = RedisClient(endpoint: redis.endpoint)
        defer { client.shutdown() }
        var dump = ""
        var cursor = "0"
        repeat {
            let reply = try await client.command(["SCAN", cursor, "COUNT", "1000"])
            guard case .array(let parts) = reply, parts.count == 2, case .array(let keys) = parts[1] else { break }
            cursor = parts[0].text ?? "0"
            for key in keys.compactMap(\.text) {
                dump += key + "\n"
                let type = try await client.command(["TYPE", key]).text ?? ""
                let value = try await client.command(type == "hash" ? ["HGETALL", key] : ["GET", key])
                if case .array(let fields) = value {
                    dump += fields.compactMap(\.text).joined(separator: " ") + "\n"
                } else {
                    dump += (value.text ?? "") + "\n"
                }
            }
        } while cursor != "0"
        return dump
    }

    @Test func twoHostsOfTwoSidecarsAdmitExactlyTheLimitOfOneSharedTarget() async throws {
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let shared = "shared: { redis: \"unix://\(redis.socket)\", timeout: 2s, on_error: deny }"
        try await withSidecars(count: 2, extra: { _ in shared }, models: Self.models) { hostA in
            try await withSidecars(count: 2, extra: { _ in shared }, models: Self.models) { hostB in
                let keyA = try hostA.cli(["keys", "create", "--name", "a"])
                let keyB = try hostB.cli(["keys", "create", "--name", "b"])
                let statuses = await Self.burst([(hostA, keyA), (hostB, keyB)], count: 4 * Self.limit)
                #expect(statuses.filter { $0 == 200 }.count == Self.limit, "\(statuses)")
                #expect(statuses.filter { $0 == 429 }.count == 3 * Self.limit, "\(statuses)")
                // `llmgw usage` on either host shows the fleet's totals: both hosts' requests.
                var served = 0
                for _ in 0..<40 where served < Self.limit {
                    let usage = try hostA.cli(["usage", "--json"])
                    served = usage.split(separator: "\n").compactMap { line in
                        (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["requests"]
                            as? Int
                    }.reduce(0, +)
                    if served < Self.limit { try await Task.sleep(for: .milliseconds(50)) }
                }
                #expect(served == Self.limit)
                // Secret hygiene: every key and value on the server, and no secret in any.
                let dump = try await Self.dump(redis)
                #expect(dump.contains("target:mock/gpt-4o-mini"))
                let secrets = [GatewayBinary.providerKey, keyA, keyB] + [keyA, keyB].map { String($0.suffix(20)) }
                for secret in secrets {
                    #expect(!dump.contains(secret))
                }
                // Each host alone would have admitted the limit: the count is the fleet's.
                let output = hostA.allOutput() + hostB.allOutput()
                #expect(output.contains("shared state on Redis"))
                #expect(!output.contains("unreachable"))
            }
        }
    }

    @Test func aRedisThatIsDownFollowsOnErrorAndCountingResumesWhenItReturns() async throws {
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let shared = "shared: { redis: \"unix://\(redis.socket)\", timeout: 300ms, on_error: deny }"
        try await withSidecars(count: 2, extra: { _ in shared }, models: Self.models) { host in
            // A key with a limit of its own: its admission is the one on_error: deny refuses (503).
            let key = try host.cli(["keys", "create", "--name", "k", "--rpm", "1000"])
            redis.stop()
            let begin = ContinuousClock.now
            let down = await Self.burst([(host, key)], count: 4)
            #expect(down == [503, 503, 503, 503])
            #expect(ContinuousClock.now - begin < .seconds(5))
            try redis.start()
            // The client reconnects with a backoff of at most 2 s: counting resumes on the server.
            var statuses: [Int] = []
            for _ in 0..<40 {
                statuses = await Self.burst([(host, key)], count: 1)
                if statuses == [200] { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(statuses == [200])
            var output = ""
            for _ in 0..<20 where !output.contains("shared state reachable again") {
                try await Task.sleep(for: .milliseconds(50))
                output = host.allOutput()
            }
            #expect(output.contains("shared state unreachable: admission falls back"))
            #expect(output.contains("shared state reachable again"))
        }
    }
}

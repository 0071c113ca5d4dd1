import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Four sidecars on one `state.path`: limits, budgets and keys are exact across processes.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SharedStateEndToEndTests {
    @Test func fourSidecarsAdmitExactlyTheRateLimitTogether() async throws {
        try await withSidecars(count: 4) { group in
            let limit = 20
            // 4 × the limit, spread over the four sockets, all at once.
            let (key, statuses) = try await group.burstPastRateLimit(limit, keyName: "burst")
            #expect(statuses.filter { $0 == 200 }.count == limit)
            #expect(statuses.filter { $0 == 429 }.count == 3 * limit)
            #expect(!group.allOutput().contains(key), "the virtual key appears in a sidecar's output")
            // Only a hash of the secret is stored.
            let secret = String(key.suffix(32))
            let dump = try mdbDump(group.statePath)
            #expect(dump.contains("keys"), "mdb_dump printed the key database")
            #expect(!dump.contains(secret))
        }
    }

    @Test func aBudgetIsSharedAndEnforcedByEverySidecar() async throws {
        try await withSidecars(count: 4) { group in
            // One mock answer costs about $0.000004; the budget allows a handful.
            let budget = 0.00002
            let key = try group.cli([
                "keys", "create", "--name", "budget", "--budget-usd", "\(budget)", "--budget-period", "day",
            ])
            var admitted = 0
            var closed = false
            for _ in 0..<40 where !closed {
                let statuses = await burst(group, key: key, sockets: [0, 1, 2, 3])
                admitted += statuses.filter { $0 == 200 }.count
                closed = statuses.allSatisfy { $0 == 429 }
            }
            #expect(closed, "every sidecar refuses once the shared budget is spent")
            #expect(admitted >= 4)
            // Admission stops once real spend reaches the budget: at most one request beyond it.
            let spent = try group.cli(["usage", "--json"]).split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["cost_usd"] as? Double
            }.reduce(0, +)
            #expect(spent >= budget)
            #expect(spent <= budget + 0.00001)
        }
    }

    @Test func revocationTakesEffectInEverySidecarOnTheNextRequest() async throws {
        try await withSidecars(count: 2) { group in
            let key = try group.cli(["keys", "create", "--name", "revoke-me"])
            #expect(await burst(group, key: key, sockets: [0, 1]) == [200, 200])
            let id = String(key.dropFirst("sk-llmgw-".count).prefix(12))
            _ = try group.cli(["keys", "revoke", id])
            #expect(await burst(group, key: key, sockets: [0, 1]) == [401, 401])
        }
    }

    @Test func aSidecarKilledMidWriteLeavesTheStateUsable() async throws {
        try await withSidecars(count: 2) { group in
            let key = try group.cli(["keys", "create", "--name", "load"])
            // Load both sidecars, kill -9 the first while it is settling requests.
            async let load = burst(
                group, key: key, sockets: Array(repeating: 0, count: 40) + Array(repeating: 1, count: 40))
            try await Task.sleep(for: .milliseconds(30))
            kill(group.processes[0].processIdentifier, SIGKILL)
            _ = await load
            let before = try group.requestsRecorded()
            // The survivor keeps serving, and a new process opens the environment cleanly.
            #expect(await burst(group, key: key, sockets: [1, 1]) == [200, 200])
            try? FileManager.default.removeItem(atPath: group.socketPath(0))
            try group.startProcess(0)
            try await group.waitUntilListening(0)
            #expect(await burst(group, key: key, sockets: [0]) == [200])
            let after = try group.requestsRecorded()
            #expect(after >= before + 3, "a counter went backwards or lost requests")
        }
    }

    @Test func anAnswerCachedByOneSidecarIsAHitOnAnother() async throws {
        try await withSidecars(count: 2) { group in
            let key = try group.cli(["keys", "create", "--name", "cache"])
            let headers = [("authorization", "Bearer \(key)")]
            func ask(_ socket: Int, _ text: String) async throws -> HTTPResponse {
                try await group.client(socket).post(
                    "/v1/chat/completions",
                    json: .chatRequest(model: "cached", text: text),
                    headers: headers
                )
            }
            let miss = try await ask(0, "cache me")
            let hit = try await ask(1, "cache me")
            #expect(miss.header("x-llmgw-cache") == "miss")
            #expect(hit.header("x-llmgw-cache") == "hit")
            #expect(hit.body == miss.body)
            // The hit never reached the provider (timing is the benchmark's business, not a test's).
            #expect(group.mock.stats.requestsByPath["/v1/chat/completions"] == 1)
            let other = try await ask(1, "something else")
            #expect(other.header("x-llmgw-cache") == "miss")
        }
    }

    @Test func aCircuitTrippedByOneSidecarIsSkippedByAnother() async throws {
        try await withSidecars(count: 2) { group in
            let key = try group.cli(["keys", "create", "--name", "breaker"])
            func ask(_ socket: Int) async throws -> HTTPResponse {
                try await group.client(socket).post(
                    "/v1/chat/completions",
                    json: .chatRequest(model: "breaking"),
                    headers: [("authorization", "Bearer \(key)")]
                )
            }
            func primaryHits() -> Int {
                group.mock.stats.recentRequests.filter { $0.bodyText.contains("status=500") }.count
            }
            // Sidecar 0: the primary fails twice (a retry), which opens its circuit; the backup answers.
            let first = try await ask(0)
            #expect(first.status == 200)
            #expect(primaryHits() == 2)
            // Sidecar 1 skips the open target without sending it anything.
            let second = try await ask(1)
            #expect(second.status == 200)
            #expect(second.header("x-llmgw-attempts") == "2")
            #expect(primaryHits() == 2)
        }
    }

    /// `withSidecars` stops what it started when the test fails half-way (a `try` that throws).
    @Test func aThrowingTestStillStopsEverySidecar() async throws {
        var started: SidecarGroup?
        await #expect(throws: TestFailure.self) {
            try await withSidecars(count: 2) { group in
                started = group
                _ = try group.cli(["keys", "create", "--name", "thrown"])
                throw TestFailure("a failed try")
            }
        }
        let group = try #require(started)
        #expect(group.processes.count == 2)
        #expect(group.processes.allSatisfy { !$0.isRunning }, "a sidecar outlived its test")
        #expect(!FileManager.default.fileExists(atPath: group.directory.path))
    }
}

import Foundation
import GatewayTesting
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Sidecars as they are deployed: each PID 1 of its own PID namespace (`unshare --pid --fork`,
/// what a pod is), all on one state directory. LMDB keys its reader table by PID, so without
/// care every sidecar after the first would collide with the first.
@Suite(.serialized, .timeLimit(.minutes(4))) struct NamespacedSidecarsEndToEndTests {
    @Test func fourNamespacedSidecarsShareLimitsCacheRevocationAndUsage() async throws {
        try #require(getuid() == 0, "unshare --pid needs root (CI runs as root)")
        try await withSidecars(count: 4, namespaced: true) { group in
            let limit = 12
            // The CLI runs in a namespace of its own too (kubectl exec), and is PID 1 there.
            let (_, statuses) = try await group.burstPastRateLimit(limit, keyName: "pods")
            #expect(statuses.filter { $0 == 200 }.count == limit)
            #expect(statuses.filter { $0 == 429 }.count == 3 * limit)
            #expect(try group.requestsRecorded() == limit, "usage is accounted once per served request")

            let other = try group.cli(["keys", "create", "--name", "cache"])
            let auth = [("authorization", "Bearer \(other)")]
            let first = try await group.client(0).post(
                "/v1/chat/completions", json: .chatRequest(model: "cached"), headers: auth)
            #expect(first.header("x-llmgw-cache") == "miss")
            for index in 1..<4 {
                let again = try await group.client(index).post(
                    "/v1/chat/completions", json: .chatRequest(model: "cached"), headers: auth)
                #expect(again.header("x-llmgw-cache") == "hit", "sidecar \(index) sees the answer cached by 0")
            }

            let id = String(other.dropFirst("sk-llmgw-".count).prefix(12))
            _ = try group.cli(["keys", "revoke", id])
            #expect(await burst(group, key: other, sockets: [0, 1, 2, 3]) == [401, 401, 401, 401])
            #expect(!group.allOutput().contains("unavailable"), "no sidecar reported its state unavailable")
        }
    }

    @Test func killingOnePodUnderLoadLeavesTheOthersErrorFreeAndItRestartsInAFreshNamespace() async throws {
        try #require(getuid() == 0, "unshare --pid needs root (CI runs as root)")
        try await withSidecars(count: 4, namespaced: true) { group in
            let key = try group.cli(["keys", "create", "--name", "load"])
            async let survivors = burst(group, key: key, sockets: (0..<90).map { 1 + $0 % 3 })
            async let victim = burst(group, key: key, sockets: Array(repeating: 0, count: 30))
            try await Task.sleep(for: .milliseconds(40))
            kill(group.processes[0].processIdentifier, SIGKILL)  // the whole namespace goes
            let served = await survivors
            _ = await victim
            #expect(served.allSatisfy { $0 == 200 }, "the other pods saw errors: \(served.filter { $0 != 200 })")
            try group.startProcess(0)
            try await group.waitUntilListening(0)
            #expect(await burst(group, key: key, sockets: [0, 0, 1, 2, 3]) == [200, 200, 200, 200, 200])
        }
    }

    /// A sidecar stopped while it holds LMDB's writer lock: the others answer within the lock
    /// timeout as `limits.on_store_error` says, keep serving what needs no write, and lose no
    /// usage once the lock is free again.
    @Test func aStoppedWriterFreezesNobody() async throws {
        try await withSidecars(
            count: 2,
            stateOptions: { _ in ", lock_timeout: 300ms" },
            extra: { $0 == 1 ? "limits: { on_store_error: deny }" : "" }
        ) { group in
            let key = try group.cli(["keys", "create", "--name", "frozen", "--rpm", "1000"])
            #expect(await burst(group, key: key, sockets: [0, 1]) == [200, 200])
            let before = try group.requestsRecorded()

            // Its output goes to a file, polled: a blocking read would hold a cooperative thread.
            let marker = group.directory.appendingPathComponent("holder.out")
            _ = FileManager.default.createFile(atPath: marker.path, contents: nil)
            // Stopped (SIGSTOP) below: the group kills it on every path, a failed `try` included.
            let holder = try group.launch(
                ["debug", "hold-write-lock", "--seconds", "3", "--config", group.configPath(0)], output: marker)
            for _ in 0..<200 where !((try? String(contentsOf: marker, encoding: .utf8)) ?? "").contains("holding") {
                try await Task.sleep(for: .milliseconds(25))
            }
            kill(holder.processIdentifier, SIGSTOP)

            let started = ContinuousClock.now
            let allowed = await burst(group, key: key, sockets: Array(repeating: 0, count: 8))
            let denied = await burst(group, key: key, sockets: Array(repeating: 1, count: 4))
            let elapsed = ContinuousClock.now - started
            #expect(allowed.allSatisfy { $0 == 200 }, "on_store_error: allow serves: \(allowed)")
            #expect(denied.allSatisfy { $0 == 503 }, "on_store_error: deny refuses: \(denied)")
            #expect(elapsed < .seconds(8), "requests waited \(elapsed) for a stopped peer")
            let health = try await group.client(0).get("/healthz")
            #expect(health.status == 200)

            kill(holder.processIdentifier, SIGCONT)
            while holder.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            #expect(holder.terminationStatus == 0)
            // The settlements queued during the freeze commit once the lock is free.
            var recorded = 0
            for _ in 0..<50 {
                recorded = try group.requestsRecorded()
                if recorded >= before + 8 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(recorded == before + 8, "usage of the requests served during the freeze")
            #expect(await burst(group, key: key, sockets: [0, 1]) == [200, 200])
        }
    }

    /// One sidecar with a small map, one with a large one; the data outgrows the small map.
    @Test func sidecarsWithDifferentMapSizesKeepWorkingAsTheDataGrows() async throws {
        try await withSidecars(
            count: 2, stateOptions: { $0 == 0 ? ", map_size: 2MiB" : ", map_size: 256MiB" }
        ) { group in
            let key = try group.cli(["keys", "create", "--name", "maps"])
            let auth = [("authorization", "Bearer \(key)")]
            #expect(await burst(group, key: key, sockets: [0, 1]) == [200, 200])
            // Another opener (mdb_load, its own process) writes 6 MiB: past the small map.
            try loadFiller(into: group.statePath, megabytes: 6, mapSize: 256 << 20)
            for index in 0..<2 {
                let fresh = try await group.client(index).post(
                    "/v1/chat/completions",
                    json: .chatRequest(model: "cached", text: "map \(index)"), headers: auth)
                #expect(fresh.status == 200)
                #expect(fresh.header("x-llmgw-cache") == "miss")
                let other = try await group.client(1 - index).post(
                    "/v1/chat/completions",
                    json: .chatRequest(model: "cached", text: "map \(index)"), headers: auth)
                #expect(other.header("x-llmgw-cache") == "hit", "an answer stored past the small map is shared")
            }
            #expect(await burst(group, key: key, sockets: [0, 1, 0, 1]) == [200, 200, 200, 200])
            #expect(try group.requestsRecorded() >= 10)
            #expect(!group.allOutput().contains("MDB_MAP_RESIZED"))
        }
    }

    /// Writes `megabytes` of filler into a `fill` database with `mdb_load`, which grows the map.
    private func loadFiller(into path: String, megabytes: Int, mapSize: Int) throws {
        var dump = "VERSION=3\nformat=print\ntype=btree\nmapsize=\(mapSize)\nHEADER=END\n"
        let value = String(repeating: "x", count: 1000)
        for index in 0..<(megabytes * 1000) { dump += " fill\(index)\n \(value)\n" }
        dump += "DATA=END\n"
        let file = path + ".dump"
        try dump.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mdb_load")
        process.arguments = ["-s", "fill", "-f", file, path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "mdb_load failed")
    }
}

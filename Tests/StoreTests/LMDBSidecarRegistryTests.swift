import Foundation
import GatewayTesting
import Testing

@testable import Store

#if canImport(Glibc)
    import Glibc
#endif

/// The sidecar registry in `meta`: register, list, stale detection by LMDB's reader lock (not
/// `kill(pid, 0)`), removal of stale entries, unregister, and reading it from a read-only open.
/// (A real `llmgw serve` killed with SIGKILL: `StatusEndToEndTests`.)
@Suite struct LMDBSidecarRegistryTests {
    private static func directory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("llmgw-registry-\(UUID().uuidString.prefix(8))")
            .path
    }

    private static func layout(_ path: String) throws -> SharedStateLayout {
        try SharedStateLayout(
            path: path, mapSizeBytes: 64 << 20, maxReaders: 64, durability: .relaxed, fileMode: 0o600,
            timeout: .seconds(2))
    }

    private static func record(pid: Int32, socket: String = "/run/llmgw.sock") -> SidecarRecord {
        SidecarRecord(
            pid: pid, startedAtMillis: 1_800_000_000_000, version: "0.1.0", configPath: "/etc/llmgw.yaml",
            socketPath: socket, tcp: nil, host: "node-1", pidNamespace: "pid:[4026531836]", supervised: false)
    }

    /// Writes `record` as another process would have registered it.
    private static func plant(_ record: SidecarRecord, in executor: LMDBExecutor) async throws {
        let meta = executor.environment.database("meta")
        let value = Array(try JSONEncoder().encode(record))
        try await executor.write { try $0.put(meta, LMDBSidecarRegistry.key(record.pid), value) }
    }

    /// A process that is running but has never opened the environment (`kill(pid, 0)` succeeds).
    private static func bystander() throws -> ChildProcess {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sleep")
        process.arguments = ["30"]
        try process.run()
        return process
    }

    /// The PID of a process that has exited.
    private static func deadPID() throws -> Int32 {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func registerListsThisProcessAliveAndUnregisterRemovesIt() async throws {
        let path = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let layout = try Self.layout(path)
        let registry = LMDBSidecarRegistry(executor: layout.volatile)
        #expect(try await registry.sidecars().isEmpty)
        // Whatever PID the caller put in, the entry is filed under the PID holding the environment.
        try await registry.register(Self.record(pid: 12345, socket: "/run/a.sock"))
        let listed = try await registry.sidecars()
        #expect(listed.count == 1)
        #expect(listed.first?.record.pid == getpid())
        #expect(listed.first?.record.socketPath == "/run/a.sock")
        #expect(listed.first?.alive == true)
        // Another instance (a status reader in this process) did not write the entry: not alive for it.
        #expect(try await LMDBSidecarRegistry(executor: layout.volatile).sidecars().map(\.alive) == [false])
        try await registry.unregister()
        #expect(try await registry.sidecars().isEmpty)
        try await registry.unregister()  // twice is harmless
    }

    @Test func anEntryWhoseProcessDoesNotHoldTheEnvironmentIsStaleAndSwept() async throws {
        let path = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let layout = try Self.layout(path)
        let registry = LMDBSidecarRegistry(executor: layout.volatile)
        try await registry.register(Self.record(pid: 0))
        let bystander = try Self.bystander()
        defer {
            kill(bystander.processIdentifier, SIGKILL)
            bystander.waitUntilExit()
        }
        let running = bystander.processIdentifier
        #expect(kill(running, 0) == 0, "kill(pid, 0) calls it alive; the registry must not")
        let dead = try Self.deadPID()
        try await Self.plant(Self.record(pid: running), in: layout.volatile)
        try await Self.plant(Self.record(pid: dead), in: layout.volatile)

        let listed = try await registry.sidecars()
        #expect(listed.count == 3)
        #expect(listed.filter(\.alive).map(\.record.pid) == [getpid()])
        #expect(Set(listed.filter { !$0.alive }.map(\.record.pid)) == [running, dead])

        let removed = try await registry.removeStale()
        #expect(Set(removed.map(\.pid)) == [running, dead])
        #expect(try await registry.sidecars().map(\.record.pid) == [getpid()])
        #expect(try await registry.removeStale().isEmpty, "nothing left to remove: no write")
    }

    @Test func registeringRemovesTheEntriesOfDeadSidecars() async throws {
        let path = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let layout = try Self.layout(path)
        let dead = try Self.deadPID()
        try await Self.plant(Self.record(pid: dead), in: layout.volatile)
        // A predecessor that had our PID (another namespace) and died: replaced, not kept.
        try await Self.plant(Self.record(pid: getpid(), socket: "/run/old.sock"), in: layout.volatile)
        let registry = LMDBSidecarRegistry(executor: layout.volatile)
        #expect(try await registry.sidecars().map(\.alive) == [false, false])
        let removed = try await registry.register(Self.record(pid: 0, socket: "/run/new.sock"))
        #expect(removed.map(\.pid) == [dead])
        let listed = try await registry.sidecars()
        #expect(listed.map(\.record.socketPath) == ["/run/new.sock"])
        #expect(listed.map(\.alive) == [true])
    }

    @Test func aReadOnlyOpenListsTheRegistryAndWritesNothing() async throws {
        let path = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            let layout = try Self.layout(path)
            try await LMDBSidecarRegistry(executor: layout.volatile).register(Self.record(pid: 0))
        }
        let before = try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.modificationDate] as? Date
        let layout = try SharedStateLayout.openReadOnly(
            path: path, mapSizeBytes: 64 << 20, maxReaders: 64, durability: .relaxed, timeout: .seconds(2))
        #expect(layout.volatile.environment.hasDatabase("meta"))
        let listed = try await LMDBSidecarRegistry(executor: layout.volatile).sidecars()
        // The entry carries this process's PID, but no instance of this open registered it: left behind.
        #expect(listed.map(\.record.pid) == [getpid()])
        #expect(listed.map(\.alive) == [false])
        let after = try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.modificationDate] as? Date
        #expect(before == after, "a read-only open wrote to the data file")
    }

    @Test func aReadOnlyOpenOfAMissingStateFailsAndCreatesNothing() throws {
        let path = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(throws: StoreError.self) {
            _ = try SharedStateLayout.openReadOnly(
                path: path, mapSizeBytes: 64 << 20, maxReaders: 64, durability: .relaxed, timeout: .seconds(2))
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

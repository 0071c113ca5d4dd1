import Foundation
import Synchronization
import Testing

@testable import Store

/// Transactions run on the executor's own threads with a bounded wait: a writer stuck behind a
/// held lock times its callers out, a write whose caller gave up never commits, a detached write
/// (settlement) commits once the lock is free, and reads go on meanwhile.
@Suite struct LMDBExecutorTests {
    private final class Gate: @unchecked Sendable {
        private let condition = NSCondition()
        private var open = false
        private var entered = false

        func enterAndWait() {
            condition.lock()
            entered = true
            condition.broadcast()
            while !open { condition.wait() }
            condition.unlock()
        }

        func waitUntilEntered() {
            condition.lock()
            while !entered { condition.wait() }
            condition.unlock()
        }

        func release() {
            condition.lock()
            open = true
            condition.broadcast()
            condition.unlock()
        }
    }

    @Test func aBlockedWriterTimesCallersOutAndOnlyDetachedWritesCommitLater() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-exec-\(UUID().uuidString.prefix(8))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = try LMDBEnvironment(.init(path: path, mapSizeBytes: 16 << 20))
        let executor = LMDBExecutor(environment: environment, configuration: .init(timeout: .milliseconds(100)))
        let meta = environment.database("meta")
        let gate = Gate()

        // The writer thread is stuck inside a transaction (as behind a stopped peer's lock).
        async let holder: Void = executor.writeDetached { transaction in
            try transaction.put(meta, Array("held".utf8), [1])
            gate.enterAndWait()
        }
        await Task.detached { gate.waitUntilEntered() }.value

        // The writer never gets to these before the release below: only the deadline ends the wait.
        await #expect(throws: StoreError.self) {
            try await executor.write { try $0.put(meta, Array("abandoned".utf8), [1]) }
        }
        await #expect(throws: StoreError.self) {
            try await executor.writeDetached { try $0.put(meta, Array("detached".utf8), [1]) }
        }
        // Reads do not wait for the writer.
        #expect(try await executor.read { try $0.get(meta, Array("held".utf8)) } == nil)

        gate.release()
        // Its caller was told it timed out too; the transaction itself goes on and commits.
        _ = try? await holder
        var detached: [UInt8]?
        for _ in 0..<100 {
            detached = try await executor.read { try $0.get(meta, Array("detached".utf8)) }
            if detached != nil { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(detached == [1], "a detached write commits once the lock is free")
        #expect(
            try await executor.read { try $0.get(meta, Array("abandoned".utf8)) } == nil,
            "a timed-out write never commits")
        #expect(try await executor.read { try $0.get(meta, Array("held".utf8)) } == [1])
    }

    // MARK: - Group commit

    private static func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("llmgw-exec-\(UUID().uuidString.prefix(8))").path
    }

    /// Adds one to the little-endian counter under `key` in `meta`; returns the new value.
    @discardableResult
    private static func increment(_ transaction: LMDBTransaction, _ meta: LMDBDatabase, _ key: String) throws -> Int64 {
        let value = (try transaction.get(meta, Array(key.utf8)).flatMap(Int64.init(littleEndianBytes:)) ?? 0) + 1
        try transaction.put(meta, Array(key.utf8), value.littleEndianBytes)
        return value
    }

    private static func counter(_ executor: LMDBExecutor, _ key: String) async throws -> Int64? {
        let meta = executor.environment.database("meta")
        return try await executor.read { try $0.get(meta, Array(key.utf8)).flatMap(Int64.init(littleEndianBytes:)) }
    }

    /// Blocks the writer thread inside a batch of its own until `gate` is released, so the writes
    /// queued meanwhile are all taken by the next batch.
    private static func holdWriter(_ executor: LMDBExecutor, _ gate: Gate) async -> Task<Void, Never> {
        let held = Task { _ = try? await executor.writeDetached { _ in gate.enterAndWait() } }
        await Task.detached { gate.waitUntilEntered() }.value
        return held
    }

    /// Waits until `count` writes are queued behind the held writer.
    private static func waitForQueuedWrites(_ executor: LMDBExecutor, _ count: Int) async throws {
        while executor.queuedWrites < count { try await Task.sleep(for: .milliseconds(2)) }
    }

    @Test func concurrentWritesCommitExactly() async throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = try LMDBEnvironment(.init(path: path, mapSizeBytes: 16 << 20))
        let executor = LMDBExecutor(environment: environment, configuration: .init(timeout: .seconds(30)))
        let meta = environment.database("meta")

        let returned = try await withThrowingTaskGroup(of: Int64.self) { group in
            for index in 0..<1_000 {
                group.addTask {
                    if index % 4 == 0 {
                        try await executor.writeDetached { try Self.increment($0, meta, "counter") }
                        return 0
                    }
                    return try await executor.write { try Self.increment($0, meta, "counter") }
                }
            }
            var values: [Int64] = []
            for try await value in group where value != 0 { values.append(value) }
            return values
        }
        #expect(try await Self.counter(executor, "counter") == 1_000)
        // Each write saw the ones before it, batched or not: the values returned are distinct.
        #expect(returned.count == 750)
        #expect(Set(returned).count == 750)
        #expect(returned.allSatisfy { (1...1_000).contains($0) })
    }

    @Test func aThrowingJobInABatchAbortsOnlyItselfAndGetsItsError() async throws {
        struct Boom: Error, Equatable { let index: Int }
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = try LMDBEnvironment(.init(path: path, mapSizeBytes: 16 << 20))
        let executor = LMDBExecutor(environment: environment, configuration: .init(timeout: .seconds(30)))
        let meta = environment.database("meta")
        let gate = Gate()
        let held = await Self.holdWriter(executor, gate)

        // Five writes queued behind the held writer, so one batch takes them all; the third
        // writes too, then throws.
        let results = (0..<5).map { index in
            Task { () throws -> Int64 in
                if index == 2 {
                    return try await executor.write { transaction in
                        try transaction.put(meta, Array("doomed".utf8), [1])
                        try Self.increment(transaction, meta, "counter")
                        throw Boom(index: index)
                    }
                }
                return try await executor.write { try Self.increment($0, meta, "counter") }
            }
        }
        try await Self.waitForQueuedWrites(executor, 5)
        gate.release()
        await held.value

        var values: [Int64] = []
        for (index, result) in results.enumerated() {
            if index == 2 {
                await #expect(throws: Boom(index: 2)) { try await result.value }
            } else {
                values.append(try await result.value)
            }
        }
        #expect(values == [1, 2, 3, 4], "the others commit, in queue order, without the failed one's changes")
        #expect(try await Self.counter(executor, "counter") == 4)
        #expect(try await executor.read { try $0.get(meta, Array("doomed".utf8)) } == nil)
    }

    @Test func aWriteAbandonedBeforeItsBatchStartedNeverCommits() async throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = try LMDBEnvironment(.init(path: path, mapSizeBytes: 16 << 20))
        let executor = LMDBExecutor(environment: environment, configuration: .init(timeout: .milliseconds(300)))
        let meta = environment.database("meta")
        let gate = Gate()
        let held = await Self.holdWriter(executor, gate)

        // Queued behind the held writer until its caller times out.
        await #expect(throws: StoreError.self) {
            try await executor.write { try $0.put(meta, Array("abandoned".utf8), [1]) }
        }
        // Queued after it, with time left: the same batch takes all three.
        let kept = Task { try await executor.write { try $0.put(meta, Array("kept".utf8), [1]) } }
        let detached = Task { try await executor.writeDetached { try $0.put(meta, Array("detached".utf8), [1]) } }
        try await Self.waitForQueuedWrites(executor, 3)
        gate.release()
        await held.value
        try await kept.value
        try await detached.value

        #expect(try await executor.read { try $0.get(meta, Array("kept".utf8)) } == [1])
        #expect(try await executor.read { try $0.get(meta, Array("detached".utf8)) } == [1])
        #expect(
            try await executor.read { try $0.get(meta, Array("abandoned".utf8)) } == nil,
            "a write whose caller gave up while it was queued never commits, whatever else its batch commits")
    }

    @Test func aFullMapInABatchEvictsForThatJobAndTheOthersCommit() async throws {
        let path = Self.temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let environment = try LMDBEnvironment(.init(path: path, mapSizeBytes: 1 << 20))
        let executor = LMDBExecutor(environment: environment, configuration: .init(timeout: .seconds(30)))
        let cache = environment.database("cache")
        let meta = environment.database("meta")
        let big = [UInt8](repeating: 7, count: 64 * 1024)
        #expect(try await executor.write { try Self.increment($0, meta, "counter") } == 1)
        var stored = 0
        while (try? environment.withWriteTransaction({ try $0.put(cache, Array("k\(stored)".utf8), big) })) != nil {
            stored += 1
        }
        #expect(stored > 0)
        let filled = stored
        let evictions = Atomic<Int>(0)
        let gate = Gate()
        let held = await Self.holdWriter(executor, gate)

        // A small write, the one that does not fit (and evicts), another small write.
        let before = Task { try await executor.write { try Self.increment($0, meta, "counter") } }
        let fresh = Task {
            try await executor.write(onMapFull: { transaction in
                evictions.add(1, ordering: .relaxed)
                for index in 0..<filled { try transaction.delete(cache, Array("k\(index)".utf8)) }
            }) { try $0.put(cache, Array("fresh".utf8), big) }
        }
        try await Self.waitForQueuedWrites(executor, 2)
        let after = Task { try await executor.write { try Self.increment($0, meta, "counter") } }
        try await Self.waitForQueuedWrites(executor, 3)
        gate.release()
        await held.value

        #expect(try await before.value == 2)
        try await fresh.value
        #expect(try await after.value == 3)
        #expect(evictions.load(ordering: .relaxed) == 1)
        #expect(try await executor.read { try $0.get(cache, Array("fresh".utf8)) } == big)
    }
}

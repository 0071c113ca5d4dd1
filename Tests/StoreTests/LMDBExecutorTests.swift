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

        let started = ContinuousClock.now
        await #expect(throws: StoreError.self) {
            try await executor.write { try $0.put(meta, Array("abandoned".utf8), [1]) }
        }
        #expect(ContinuousClock.now - started < .seconds(2), "the caller waited past its timeout")
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
}

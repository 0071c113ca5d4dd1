import Foundation
import GatewayCore
import Testing

@testable import Store

@Suite struct LMDBSemanticIndexTests {
    /// A fresh environment in a temporary directory.
    private final class Fixture {
        let path: String
        let environment: LMDBEnvironment
        let index: LMDBSemanticIndex

        init() throws {
            path =
                FileManager.default.temporaryDirectory.appendingPathComponent(
                    "llmgw-semantic-\(UUID().uuidString.prefix(8))"
                ).path
            environment = try LMDBEnvironment(
                .init(path: path, mapSizeBytes: 1 << 26, databases: ["semantic", "semantic_age", "meta"]))
            index = LMDBSemanticIndex(executor: LMDBExecutor(environment: environment))
        }

        func ageCount() throws -> Int {
            try environment.withReadTransaction { try $0.count(environment.database("semantic_age")) }
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static func key(_ byte: UInt8) -> CacheKey { CacheKey(digest: [UInt8](repeating: byte, count: 32)) }

    /// A unit vector along `axis` tilted towards `axis + 1` by `tilt` (cosine with the axis: 1/√(1+tilt²)).
    static func vector(_ axis: Int, tilt: Float = 0, dimensions: Int = 16) -> SemanticVector {
        var values = [Float](repeating: 0, count: dimensions)
        values[axis] = 1
        values[(axis + 1) % dimensions] = tilt
        return SemanticVector(embedding: values)!
    }

    static func entry(_ vector: SemanticVector, _ answer: UInt8, at millis: Int64, ttl: Int64 = 60_000)
        -> SemanticEntry
    {
        SemanticEntry(vector: vector, answerKey: key(answer), storedAtMillis: millis, expiresAtMillis: millis + ttl)
    }

    @Test func findsTheClosestEntriesOfItsOwnNamespaceOnlyBestFirst() async throws {
        let fixture = try Fixture()
        let (mine, theirs) = (Self.key(0xA0), Self.key(0xB0))
        try await fixture.index.insert(Self.entry(Self.vector(0, tilt: 0.1), 1, at: 1), namespace: mine, maxEntries: 10)
        try await fixture.index.insert(Self.entry(Self.vector(0, tilt: 0.3), 2, at: 2), namespace: mine, maxEntries: 10)
        try await fixture.index.insert(Self.entry(Self.vector(5), 3, at: 3), namespace: mine, maxEntries: 10)
        try await fixture.index.insert(Self.entry(Self.vector(0), 4, at: 4), namespace: theirs, maxEntries: 10)
        let matches = try await fixture.index.nearest(
            Self.vector(0), namespace: mine, threshold: 0.9, limit: 4, nowMillis: 10)
        #expect(matches.map(\.answerKey) == [Self.key(1), Self.key(2)])
        #expect(abs(matches[0].similarity - 1 / (1 + 0.01 as Float).squareRoot()) < 0.01)
        #expect(abs(matches[1].similarity - 1 / (1 + 0.09 as Float).squareRoot()) < 0.01)
        // A namespace with nothing stored finds nothing, whatever the vector.
        #expect(
            try await fixture.index.nearest(
                Self.vector(0), namespace: Self.key(0xC0), threshold: 0.1, limit: 4, nowMillis: 10
            ).isEmpty)
        // Another dimension count never matches.
        #expect(
            try await fixture.index.nearest(
                Self.vector(0, dimensions: 8), namespace: mine, threshold: 0.1, limit: 4, nowMillis: 10
            ).isEmpty)
    }

    @Test func maxEntriesEvictsTheOldestOfAnyNamespace() async throws {
        let fixture = try Fixture()
        for answer in UInt8(1)...5 {
            let namespace = Self.key(answer % 2 == 0 ? 0xA0 : 0xB0)
            try await fixture.index.insert(
                Self.entry(Self.vector(0), answer, at: Int64(answer)), namespace: namespace, maxEntries: 3)
        }
        #expect(try await fixture.index.entryCount() == 3)
        #expect(try fixture.ageCount() == 3)
        let left = try await fixture.index.nearest(
            Self.vector(0), namespace: Self.key(0xB0), threshold: 0.5, limit: 10, nowMillis: 10)
        #expect(Set(left.map(\.answerKey)) == [Self.key(3), Self.key(5)])
        let even = try await fixture.index.nearest(
            Self.vector(0), namespace: Self.key(0xA0), threshold: 0.5, limit: 10, nowMillis: 10)
        #expect(even.map(\.answerKey) == [Self.key(4)])
    }

    @Test func storingTheSameAnswerAgainReplacesTheEntry() async throws {
        let fixture = try Fixture()
        let namespace = Self.key(0xA0)
        try await fixture.index.insert(Self.entry(Self.vector(0), 1, at: 1), namespace: namespace, maxEntries: 10)
        try await fixture.index.insert(Self.entry(Self.vector(3), 1, at: 2), namespace: namespace, maxEntries: 10)
        #expect(try await fixture.index.entryCount() == 1)
        #expect(try fixture.ageCount() == 1)
        let found = try await fixture.index.nearest(
            Self.vector(3), namespace: namespace, threshold: 0.9, limit: 4, nowMillis: 10)
        #expect(found.map(\.answerKey) == [Self.key(1)])
        #expect(try await fixture.index.remove(namespace: namespace, answerKey: Self.key(1)))
        #expect(try await !fixture.index.remove(namespace: namespace, answerKey: Self.key(1)))
        #expect(try await fixture.index.entryCount() == 0)
        #expect(try fixture.ageCount() == 0)
    }

    @Test func expiredEntriesAreNeverFoundAndTheSweepRemovesThem() async throws {
        let fixture = try Fixture()
        let namespace = Self.key(0xA0)
        try await fixture.index.insert(
            Self.entry(Self.vector(0), 1, at: 1_000, ttl: 1_000), namespace: namespace, maxEntries: 10)
        try await fixture.index.insert(
            Self.entry(Self.vector(0), 2, at: 1_500, ttl: 60_000), namespace: namespace, maxEntries: 10)
        let before = try await fixture.index.nearest(
            Self.vector(0), namespace: namespace, threshold: 0.9, limit: 4, nowMillis: 1_999)
        #expect(before.count == 2)
        let after = try await fixture.index.nearest(
            Self.vector(0), namespace: namespace, threshold: 0.9, limit: 4, nowMillis: 2_000)
        #expect(after.map(\.answerKey) == [Self.key(2)])
        #expect(try await fixture.index.sweepExpired(nowMillis: 2_000, limit: 100) == 1)
        #expect(try await fixture.index.entryCount() == 1)
        #expect(try fixture.ageCount() == 1)
        #expect(try await fixture.index.sweepExpired(nowMillis: 2_000, limit: 100) == 0)
        #expect(try await fixture.index.sweepExpired(nowMillis: 61_500, limit: 100) == 1)
        #expect(try await fixture.index.entryCount() == 0)
    }

    @Test func quantizationKeepsTheCosineWithinAHundredth() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let a = (0..<384).map { _ in Float.random(in: -1...1, using: &generator) }
            let b = a.map { $0 + Float.random(in: -0.5...0.5, using: &generator) }
            let dot: Float = zip(a, b).map { $0 * $1 }.reduce(0, +)
            let normA: Float = a.map { $0 * $0 }.reduce(0, +).squareRoot()
            let normB: Float = b.map { $0 * $0 }.reduce(0, +).squareRoot()
            let exact = dot / (normA * normB)
            let quantized = try #require(SemanticVector(embedding: a)?.similarity(to: SemanticVector(embedding: b)!))
            #expect(abs(quantized - exact) < 0.01)
        }
        #expect(SemanticVector(embedding: [0, 0, 0]) == nil)
        #expect(SemanticVector(embedding: [1, .nan]) == nil)
    }
}

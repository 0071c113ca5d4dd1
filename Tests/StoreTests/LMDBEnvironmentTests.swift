import Foundation
import Testing

@testable import Store

@Suite struct LMDBEnvironmentTests {
    private func open(mapSize: Int = 1 << 24) throws -> LMDBEnvironment {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-lmdb-\(UUID().uuidString.prefix(8))"
        ).path
        return try LMDBEnvironment(.init(path: path, mapSizeBytes: mapSize))
    }

    @Test func putGetDeleteRoundTrip() throws {
        let env = try open()
        let cache = env.database("cache")
        try env.withWriteTransaction { try $0.put(cache, Array("k".utf8), Array("v".utf8)) }
        #expect(try env.withReadTransaction { try $0.get(cache, Array("k".utf8)) } == Array("v".utf8))
        #expect(try env.withWriteTransaction { try $0.delete(cache, Array("k".utf8)) })
        #expect(try env.withReadTransaction { try $0.get(cache, Array("k".utf8)) } == nil)
    }

    @Test func aThrowingWriteTransactionLeavesNoTrace() throws {
        struct Boom: Error {}
        let env = try open()
        let limits = env.database("limits")
        #expect(throws: Boom.self) {
            try env.withWriteTransaction { transaction in
                try transaction.put(limits, [1], [2])
                throw Boom()
            }
        }
        #expect(try env.withReadTransaction { try $0.get(limits, [1]) } == nil)
    }

    @Test func iteratesInKeyOrderFromAStartKey() throws {
        let env = try open()
        let spend = env.database("spend")
        try env.withWriteTransaction { transaction in
            for byte: UInt8 in [5, 1, 3, 9] { try transaction.put(spend, [byte], [byte]) }
        }
        var seen: [UInt8] = []
        try env.withReadTransaction { transaction in
            try transaction.forEach(spend, from: [2]) { key, _ in
                seen.append(key[0])
                return true
            }
        }
        #expect(seen == [3, 5, 9])
        #expect(try env.withReadTransaction { try $0.count(spend) } == 4)
    }

    @Test func aFullMapIsEvictedAndWritesResume() throws {
        let env = try open(mapSize: 1 << 20)
        let cache = env.database("cache")
        let big = [UInt8](repeating: 7, count: 64 * 1024)
        var stored = 0
        // Fill the map until it is full.
        while (try? env.withWriteTransaction({ try $0.put(cache, Array("k\(stored)".utf8), big) })) != nil {
            stored += 1
        }
        #expect(stored > 0)
        var evictions = 0
        let evictAll: (LMDBTransaction) throws -> Void = { transaction in
            evictions += 1
            for index in 0..<stored { try transaction.delete(cache, Array("k\(index)".utf8)) }
        }
        var written = false
        for attempt in 0..<1 where !written {
            written =
                (try? env.withWriteTransaction(onMapFull: evictAll) {
                    try $0.put(cache, Array("fresh\(attempt)".utf8), big)
                }) != nil
        }
        #expect(evictions >= 1)
        #expect(written)
        #expect(try env.withReadTransaction { try $0.count(cache) } < stored)
    }
}

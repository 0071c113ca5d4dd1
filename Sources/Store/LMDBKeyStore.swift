import Foundation
import GatewayCore
import Synchronization

/// Virtual keys and teams in the shared `keys` database, as JSON (readable with `mdb_dump`;
/// it holds only SHA-256 hashes of secrets). Keys: `key/<public id>`, `team/<name>`.
public final class LMDBKeyStore: KeyStore {
    private let executor: LMDBExecutor
    private let database: LMDBDatabase
    private let keys = DecodedRecords<VirtualKeyRecord>()
    private let teams = DecodedRecords<TeamRecord>()

    public init(executor: LMDBExecutor) {
        self.executor = executor
        self.database = executor.environment.database("keys")
    }

    public func key(publicID: String) async throws -> VirtualKeyRecord? {
        try await executor.read { [database, keys] transaction in
            try transaction.get(database, Array("key/\(publicID)".utf8)).map { try keys.decode($0, id: publicID) }
        }
    }

    public func team(named name: String) async throws -> TeamRecord? {
        try await executor.read { [database, teams] transaction in
            try transaction.get(database, Array("team/\(name)".utf8)).map { try teams.decode($0, id: name) }
        }
    }

    public func insert(_ record: VirtualKeyRecord) async throws {
        let encoded = Array(try JSONEncoder().encode(record))
        try await executor.write { [database] transaction in
            let key = Array("key/\(record.publicID)".utf8)
            guard try transaction.get(database, key) == nil else {
                throw StoreError(.other(0), "a key with id \(record.publicID) already exists")
            }
            try transaction.put(database, key, encoded)
        }
    }

    public func allKeys() async throws -> [VirtualKeyRecord] {
        try await executor.read { [database] transaction in
            var records: [VirtualKeyRecord] = []
            let prefix = Array("key/".utf8)
            try transaction.forEach(database, from: prefix) { key, value in
                guard key.starts(with: prefix) else { return false }
                records.append(try JSONDecoder().decode(VirtualKeyRecord.self, from: Data(value)))
                return true
            }
            return records
        }
    }

    /// Every team record, by name.
    public func allTeams() async throws -> [TeamRecord] {
        try await executor.read { [database] transaction in
            var records: [TeamRecord] = []
            let prefix = Array("team/".utf8)
            try transaction.forEach(database, from: prefix) { key, value in
                guard key.starts(with: prefix) else { return false }
                records.append(try JSONDecoder().decode(TeamRecord.self, from: Data(value)))
                return true
            }
            return records
        }
    }

    public func revoke(publicID: String, atMillis: Int64) async throws -> Bool {
        try await executor.write { [database] transaction in
            let key = Array("key/\(publicID)".utf8)
            guard let bytes = try transaction.get(database, key) else { return false }
            var record = try JSONDecoder().decode(VirtualKeyRecord.self, from: Data(bytes))
            if record.revokedAtMillis == nil { record.revokedAtMillis = atMillis }
            try transaction.put(database, key, Array(try JSONEncoder().encode(record)))
            return true
        }
    }

    public func setTeam(_ team: TeamRecord) async throws {
        let encoded = Array(try JSONEncoder().encode(team))
        try await executor.write { [database] in try $0.put(database, Array("team/\(team.name)".utf8), encoded) }
    }
}

/// The last decoded form of each record read on the request path, reused while the stored bytes
/// are the same: every request with a virtual key reads its record, and decoding it with
/// `JSONDecoder` cost ~58,000 instructions, comparing ~300 bytes a few hundred. Any change in
/// the store (revocation, a new limit, from any process) changes the bytes and is decoded afresh.
private final class DecodedRecords<Record: Decodable & Sendable>: Sendable {
    /// Beyond this many ids the memo starts over (a host with more live keys decodes some again).
    private static var capacity: Int { 4096 }
    private let memo = Mutex<[String: (bytes: [UInt8], record: Record)]>([:])

    func decode(_ bytes: [UInt8], id: String) throws -> Record {
        if let hit = memo.withLock({ $0[id] }), hit.bytes == bytes { return hit.record }
        let record = try JSONDecoder().decode(Record.self, from: Data(bytes))
        memo.withLock { memo in
            if memo.count >= Self.capacity && memo[id] == nil { memo.removeAll(keepingCapacity: true) }
            memo[id] = (bytes, record)
        }
        return record
    }
}

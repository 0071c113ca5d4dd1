import GatewayCore
import Synchronization

/// Keys and teams in memory, for pipeline tests.
final class InMemoryKeyStore: KeyStore {
    private let state = Mutex<(keys: [String: VirtualKeyRecord], teams: [String: TeamRecord])>(([:], [:]))

    func key(publicID: String) throws -> VirtualKeyRecord? { state.withLock { $0.keys[publicID] } }
    func team(named name: String) throws -> TeamRecord? { state.withLock { $0.teams[name] } }
    func insert(_ record: VirtualKeyRecord) throws { state.withLock { $0.keys[record.publicID] = record } }
    func allKeys() throws -> [VirtualKeyRecord] { state.withLock { Array($0.keys.values) } }
    func setTeam(_ team: TeamRecord) throws { state.withLock { $0.teams[team.name] = team } }

    func revoke(publicID: String, atMillis: Int64) throws -> Bool {
        state.withLock {
            guard $0.keys[publicID] != nil else { return false }
            $0.keys[publicID]?.revokedAtMillis = atMillis
            return true
        }
    }
}

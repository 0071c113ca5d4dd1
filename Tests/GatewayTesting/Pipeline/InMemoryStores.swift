import GatewayCore
import Pipeline
import Synchronization

/// Keeps access records in memory.
public final class MemoryAccessLog: AccessLogSink {
    private let records = Mutex<[AccessRecord]>([])

    public init() {}

    public var all: [AccessRecord] { records.withLock { $0 } }

    public func record(_ record: AccessRecord) {
        records.withLock { $0.append(record) }
    }
}

/// Keys and teams in memory, for pipeline tests.
public final class InMemoryKeyStore: KeyStore {
    private let state = Mutex<(keys: [String: VirtualKeyRecord], teams: [String: TeamRecord])>(([:], [:]))

    public init() {}

    public func key(publicID: String) throws -> VirtualKeyRecord? { state.withLock { $0.keys[publicID] } }
    public func team(named name: String) throws -> TeamRecord? { state.withLock { $0.teams[name] } }
    public func insert(_ record: VirtualKeyRecord) throws { state.withLock { $0.keys[record.publicID] = record } }
    public func allKeys() throws -> [VirtualKeyRecord] { state.withLock { Array($0.keys.values) } }
    public func setTeam(_ team: TeamRecord) throws { state.withLock { $0.teams[team.name] = team } }

    public func revoke(publicID: String, atMillis: Int64) throws -> Bool {
        state.withLock {
            guard $0.keys[publicID] != nil else { return false }
            $0.keys[publicID]?.revokedAtMillis = atMillis
            return true
        }
    }
}

/// A wall clock the test sets and steps by hand (NTP corrections, a VM resumed after a day). It
/// stands still otherwise, so limits, budgets and cooldowns are read at a fixed instant.
public final class SteppableWallClock: WallClock {
    private let now: Mutex<Int64>

    /// Starts at `millis` since the epoch (2027-01-15 by default).
    public init(millis: Int64 = 1_800_000_000_000) {
        now = Mutex(millis)
    }

    public func nowMillis() -> Int64 { now.withLock { $0 } }
    public func advance(_ duration: Duration) { now.withLock { $0 += Self.millis(duration) } }
    public func stepBack(_ duration: Duration) { now.withLock { $0 -= Self.millis(duration) } }

    private static func millis(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }
}

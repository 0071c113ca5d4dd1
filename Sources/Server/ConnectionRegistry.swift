import NIOCore
import Synchronization

/// The open client connections, so that shutdown can close the idle ones at once, let busy ones
/// finish their current response, and cut everything when the drain timeout runs out.
final class ConnectionRegistry: Sendable {
    private struct State {
        var connections: [ObjectIdentifier: (channel: any Channel, busy: Bool)] = [:]
        var draining = false
    }

    private let state = Mutex(State())

    var isDraining: Bool { state.withLock { $0.draining } }

    var count: Int { state.withLock { $0.connections.count } }

    func register(_ channel: any Channel) {
        state.withLock { $0.connections[ObjectIdentifier(channel)] = (channel, false) }
    }

    func remove(_ channel: any Channel) {
        _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Marks a connection busy (a request is being served) or idle. Returns false when the
    /// connection should close instead of waiting for another request (shutdown under way).
    @discardableResult
    func setBusy(_ channel: any Channel, _ busy: Bool) -> Bool {
        state.withLock {
            $0.connections[ObjectIdentifier(channel)]?.busy = busy
            return !$0.draining
        }
    }

    /// Stops keep-alive: idle connections are closed now, busy ones after their response.
    func beginDraining() {
        let idle = state.withLock { state in
            state.draining = true
            return state.connections.values.filter { !$0.busy }.map(\.channel)
        }
        for channel in idle { channel.close(promise: nil) }
    }

    func closeAll() {
        let all = state.withLock { $0.connections.values.map(\.channel) }
        for channel in all { channel.close(promise: nil) }
    }
}

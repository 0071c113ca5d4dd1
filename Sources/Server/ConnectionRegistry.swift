import NIOCore
import Synchronization

/// The open client connections and the requests in flight over all of them: enforces
/// `listen.max_connections` and `listen.max_in_flight`, and lets shutdown close the idle connections
/// at once, let busy ones finish their current response, and cut everything when the drain timeout
/// runs out.
final class ConnectionRegistry: Sendable {
    private struct State {
        var connections: [ObjectIdentifier: (channel: any Channel, busy: Bool)] = [:]
        var draining = false
    }

    private let state = Mutex(State())
    private let inFlight = Atomic<Int>(0)

    var isDraining: Bool { state.withLock { $0.draining } }

    var count: Int { state.withLock { $0.connections.count } }

    /// Requests being served now (for shutdown logs and metrics).
    var requestsInFlight: Int { inFlight.load(ordering: .relaxed) }

    /// Registers a new connection. Returns false when `limit` connections were already open: the
    /// connection is still registered (shutdown closes it) but must only be refused.
    func register(_ channel: any Channel, limit: Int) -> Bool {
        state.withLock { state in
            let admitted = state.connections.count < limit
            state.connections[ObjectIdentifier(channel)] = (channel, false)
            return admitted
        }
    }

    func remove(_ channel: any Channel) {
        _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Takes one of `limit` request slots; false when all are taken (the request gets 503).
    func beginRequest(limit: Int) -> Bool {
        let now = inFlight.wrappingAdd(1, ordering: .relaxed).newValue
        guard now <= limit else {
            inFlight.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func endRequest() {
        inFlight.wrappingSubtract(1, ordering: .relaxed)
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

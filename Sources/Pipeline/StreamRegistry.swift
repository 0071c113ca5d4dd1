import GatewayCore
import Synchronization

/// The upstream streams being relayed to clients right now, so that shutdown can end them when
/// `listen.drain_timeout` runs out: `cutAll` aborts every transfer, and each relay, seeing
/// `isCutting`, ends its client's stream with the dialect's in-band error event instead of just
/// dropping the connection.
final class StreamRegistry: Sendable {
    private struct State {
        var next = 0
        var bodies: [Int: any UpstreamBody] = [:]
        var cutting = false
    }

    private let state = Mutex(State())

    var isCutting: Bool { state.withLock { $0.cutting } }

    /// Streams being relayed now (`llmgw_active_streams`).
    var count: Int { state.withLock { $0.bodies.count } }

    /// Tracks `body` until `unregister`; once cutting has begun, the body is cancelled at once.
    func register(_ body: any UpstreamBody) -> Int {
        let (id, cutting) = state.withLock { state in
            state.next += 1
            state.bodies[state.next] = body
            return (state.next, state.cutting)
        }
        if cutting { body.cancel() }
        return id
    }

    func unregister(_ id: Int) {
        _ = state.withLock { $0.bodies.removeValue(forKey: id) }
    }

    func cutAll() {
        let bodies = state.withLock { state in
            state.cutting = true
            return Array(state.bodies.values)
        }
        for body in bodies { body.cancel() }
    }
}

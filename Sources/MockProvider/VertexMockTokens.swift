import Foundation
import Synchronization

/// The access tokens the Vertex mock has minted, each accepted until its expiry (or
/// `tokenAcceptedSeconds`), plus the token endpoint's own fault plan.
final class VertexMockTokens: Sendable {
    enum Check: Equatable {
        case valid
        case expired
        case unknown
    }

    private struct State {
        var tokens: [String: Double] = [:]
        var faults: MockFaultPlan
    }

    private let state: Mutex<State>
    private let ids = MockIDGenerator()

    init(faults: MockFaultSpec) {
        state = Mutex(State(faults: MockFaultPlan(faults)))
    }

    /// A new `ya29.` token, accepted for `seconds`.
    func mint(acceptedFor seconds: Int) -> String {
        let token = ids.make(prefix: "ya29.c.", length: 120, alphabet: .alphanumeric)
        let until = Date().timeIntervalSince1970 + Double(seconds)
        state.withLock { $0.tokens[token] = until }
        return token
    }

    func check(_ token: String) -> Check {
        guard let until = state.withLock({ $0.tokens[token] }) else { return .unknown }
        return Date().timeIntervalSince1970 < until ? .valid : .expired
    }

    /// The injected fault of the next token request, if any.
    func nextFault() -> MockFaultActions? {
        state.withLock { $0.faults.next() }
    }
}

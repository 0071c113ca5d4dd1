import Synchronization

/// What every connection of one mock server shares: the dialect, the fault plans and the stats.
/// All mutable state sits behind one lock, taken briefly (never across I/O).
final class MockProviderCore: Sendable {
    let configuration: MockProviderConfiguration
    let responder: any MockDialectResponder
    private let state: Mutex<State>

    private struct State {
        var stats = MockStats()
        var global: MockFaultPlan
        /// Plans for model-name suffixes (`gpt-4o#status=503x1`), keyed by the suffix text, so each
        /// suffix keeps its own `xN` budget and random sequence.
        var bySuffix: [String: MockFaultPlan] = [:]
    }

    init(configuration: MockProviderConfiguration) throws(MockFaultSpecError) {
        self.configuration = configuration
        switch configuration.dialect {
        case .openai: responder = OpenAIMockResponder(expectedKey: configuration.apiKey)
        case .anthropic: responder = AnthropicMockResponder(expectedKey: configuration.apiKey)
        case .gemini:
            responder = GeminiMockResponder(
                expectedKey: configuration.apiKey, lineEnding: configuration.geminiCRLF ? "\r\n" : "\n")
        case .azure: responder = AzureMockResponder(expectedKey: configuration.apiKey)
        case .vertex: responder = try VertexMockResponder(settings: configuration.vertex)
        case .bedrock: responder = BedrockMockResponder(expectedKey: configuration.apiKey, aws: configuration.aws)
        }
        let global = MockFaultPlan(try MockFaultSpec(parsing: configuration.faults))
        state = Mutex(State(global: global))
    }

    var stats: MockStats { state.withLock { $0.stats } }

    func setFaults(_ spec: String) throws(MockFaultSpecError) {
        let plan = MockFaultPlan(try MockFaultSpec(parsing: spec))
        state.withLock { $0.global = plan }
    }

    func resetStats() {
        state.withLock { $0.stats = MockStats() }
    }

    /// The faults for the next request: the global plan, overridden by the model suffix's plan.
    func nextFaults(suffix: String?) throws(MockFaultSpecError) -> MockFaultActions? {
        let suffixSpec = try suffix.map { (text) throws(MockFaultSpecError) in try MockFaultSpec(parsing: text) }
        return state.withLock { state in
            var actions = state.global.next()
            if let suffix, let suffixSpec {
                var plan = state.bySuffix[suffix] ?? MockFaultPlan(suffixSpec)
                if let own = plan.next() { actions = (actions ?? MockFaultActions()).overridden(by: own) }
                state.bySuffix[suffix] = plan
            }
            if actions != nil { state.stats.faultsInjected += 1 }
            return actions
        }
    }

    func record(_ request: MockObservedRequest) {
        let limit = configuration.recentRequestLimit
        state.withLock { state in
            state.stats.requests += 1
            state.stats.requestsByPath[request.path, default: 0] += 1
            if limit > 0 {
                if state.stats.recentRequests.count >= limit { state.stats.recentRequests.removeFirst() }
                state.stats.recentRequests.append(request)
            }
        }
    }

    func count(_ counter: WritableKeyPath<MockStats, Int>) {
        state.withLock { $0.stats[keyPath: counter] += 1 }
    }
}

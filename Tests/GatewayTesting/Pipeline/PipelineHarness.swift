import GatewayCore
import Logging
import Pipeline
import Testing

/// One `RequestPipeline` in process, on a scripted transport, an in-memory access log and
/// in-memory stores, at a wall clock that stands still until the test steps it. `send` is the one
/// way tests put a request through it.
public final class PipelineHarness: Sendable {
    /// Which shared-state facilities the pipeline gets (none: no `SharedState` at all).
    public struct Stores: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// Keys and admission (limits, budgets, usage): the `SharedState` itself.
        public static let keysAndAdmission = Stores(rawValue: 1)
        public static let cache = Stores(rawValue: 2)
        public static let circuits = Stores(rawValue: 4)
        public static let stats = Stores(rawValue: 8)
        /// The store of Responses answers (`previous_response_id`).
        public static let responses = Stores(rawValue: 16)
        /// The semantic cache's vectors (`cache.semantic`).
        public static let semantic = Stores(rawValue: 32)
    }

    public let transport: ScriptedTransport
    public let log = MemoryAccessLog()
    public let keys = InMemoryKeyStore()
    public let admission = InMemoryAdmissionStore()
    public let cache = InMemoryResponseCache()
    public let circuits = InMemoryCircuitStore()
    public let responses = InMemoryResponseCache()
    public let semantic = InMemorySemanticIndex()
    public let stats: InMemoryTargetStatsStore
    public let clock: SteppableWallClock
    public let pipeline: RequestPipeline

    /// `stores` other than none imply keys and admission. `stats` replaces the harness's own
    /// statistics store (a test may fill it first).
    public init(
        _ configuration: GatewayConfiguration,
        keyring: ProviderKeyring = ProviderKeyring(),
        transport: ScriptedTransport = ScriptedTransport(),
        stores: Stores = [],
        stats: InMemoryTargetStatsStore = InMemoryTargetStatsStore(),
        clock: SteppableWallClock = SteppableWallClock()
    ) {
        self.transport = transport
        self.stats = stats
        self.clock = clock
        let state =
            stores.isEmpty
            ? nil
            : SharedState(
                keys: keys,
                admission: admission,
                cache: stores.contains(.cache) ? cache : nil,
                circuits: stores.contains(.circuits) ? circuits : nil,
                stats: stores.contains(.stats) ? stats : nil,
                responses: stores.contains(.responses) ? responses : nil,
                semantic: stores.contains(.semantic) ? semantic : nil
            )
        pipeline = RequestPipeline(
            configuration: configuration,
            keyring: keyring,
            transport: transport,
            accessLog: log,
            logger: Logger(label: "test"),
            state: state,
            clock: clock
        )
    }

    /// Puts one request through `RequestPipeline.handle`. `key` goes in `authorization: Bearer`
    /// (or, with `keyHeader`, as that header's whole value); `headers` replaces the default
    /// `content-type: application/json`.
    @discardableResult
    public func send(
        _ body: String,
        to path: String = "/v1/chat/completions",
        method: String = "POST",
        key: String? = nil,
        keyHeader: String = "authorization",
        headers: [(name: String, value: String)] = [("content-type", "application/json")],
        peer: PeerCredentials? = nil,
        writer: RecordingWriter = RecordingWriter(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) async -> PipelineReply {
        var headers = headers
        if let key { headers.append((keyHeader, keyHeader == "authorization" ? "Bearer \(key)" : key)) }
        let logged = log.all.count
        await pipeline.handle(
            GatewayRequest(method: method, path: path, headers: headers, body: Array(body.utf8), peer: peer),
            writer: writer
        )
        // The gateway's own requests (a semantic cache's embedding) have lines of their own.
        let records = log.all.dropFirst(logged).filter { $0.internal == nil }
        if records.count != 1 {
            Issue.record("\(records.count) access records for one request", sourceLocation: sourceLocation)
        }
        return PipelineReply(
            writer: writer, record: records.first ?? AccessRecord(requestID: "", caller: "", route: ""))
    }

    /// A virtual key in the key store; returns its token text (`sk-llmgw-…`).
    public func makeKey(
        name: String = "test", limits: LimitSettings = .init(), models: [String]? = nil, team: String? = nil
    ) throws -> VirtualKeyToken {
        let token = VirtualKeyToken.generate()
        try keys.insert(
            VirtualKeyRecord(
                publicID: token.publicID,
                name: name,
                team: team,
                secretHash: VirtualKeyHashing.hash(secret: token.secret),
                allowedModels: models,
                limits: limits,
                createdAtMillis: 0
            )
        )
        return token
    }
}

/// What the client got for one request, and the access record the pipeline logged for it.
public struct PipelineReply: Sendable {
    public let writer: RecordingWriter
    public let record: AccessRecord

    public var status: Int? { writer.status }
    public var body: String { writer.body }
    public var bodyBytes: [UInt8] { writer.bodyBytes }
    public var ended: Bool { writer.ended }
    public func header(_ name: String) -> String? { writer.header(name) }
}

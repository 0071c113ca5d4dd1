import GatewayCore

/// The per-request state the pipeline carries from stage to stage: the access record being built
/// and the clocks that split latency into time in the gateway and time waiting on others.
struct Exchange {
    let request: GatewayRequest
    /// The dialect the client speaks, which shapes the gateway's own errors.
    let client: ClientDialect
    var record: AccessRecord
    /// Time spent awaiting the provider (head and body) or a slow client.
    var waitingElsewhere: Duration = .zero
    var firstByteAt: ContinuousClock.Instant?
    /// The caller's virtual key, in `auth.mode: keys`.
    var key: VirtualKeyRecord?
    /// What admission charged, reconciled in settle.
    var ticket: AdmissionTicket?
    /// Time from the last attempt's start to its response head, in microseconds.
    var lastHeadMicros: Int64?
    /// The configured price of the target that answered, when it overrides the shipped table.
    var servedPrice: ModelPrice?
    /// The `model` the provider's answer named (Azure prices by it).
    var respondingModel: String?
    /// The answering target has no price of its own: read `respondingModel` from its answer.
    var pricesByRespondingModel = false
    /// A budget applies to the caller: only targets with a price may serve it.
    var requiresPrice = false
    /// Provider quota charges, per target label, reconciled in settle.
    var targetTickets: [(String, AdmissionTicket)] = []
    /// The cache decision, when the request uses the cache.
    var cachePlan: CachePlan?
    /// What was sent to the client, kept for the cache (nil once past the size cap).
    var captured: [UInt8]?
    var capturedContentType: String?
    /// Usage of the cached answer served (for the log; nothing was paid for it).
    var cachedUsage: TokenUsage?
    /// Headers added by the stages (rate-limit state).
    var extraHeaders: [(name: String, value: String)] = []

    init(request: GatewayRequest) {
        self.request = request
        self.client = ClientDialect(path: request.path)
        self.record = AccessRecord(
            requestID: RequestID.accept(request.header("x-request-id")) ?? RequestID.generate(),
            caller: "anonymous",
            route: request.path
        )
    }

    /// Keeps `bytes` for the cache while under the cap.
    mutating func capture(_ bytes: [UInt8]) {
        guard cachePlan != nil, var kept = captured else { return }
        guard kept.count + bytes.count <= RequestPipeline.maximumCachedBytes else {
            captured = nil
            return
        }
        captured = nil  // avoid a copy while appending
        kept.append(contentsOf: bytes)
        captured = kept
    }

    mutating func markFirstByte() {
        if firstByteAt == nil { firstByteAt = .now }
    }

    /// Time spent inside the gateway so far, in microseconds.
    var overheadMicroseconds: Int {
        let inGateway = (ContinuousClock.now - request.receivedAt) - waitingElsewhere
        return max(0, Int(inGateway / .microseconds(1)))
    }

    /// Runs `operation`, counting its duration as time spent outside the gateway.
    mutating func waiting<T, E: Error>(_ operation: () async throws(E) -> T) async throws(E) -> T {
        let start = ContinuousClock.now
        defer { waitingElsewhere += ContinuousClock.now - start }
        return try await operation()
    }

    /// Headers every response carries, after `base`.
    func responseHeaders(_ base: [(name: String, value: String)]) -> [(name: String, value: String)] {
        var headers = base
        headers.append(("x-request-id", record.requestID))
        if let provider = record.provider { headers.append(("x-llmgw-provider", provider)) }
        if !record.attempts.isEmpty { headers.append(("x-llmgw-attempts", String(record.attempts.count))) }
        if record.route.hasPrefix("/v1/") && record.route != "/v1/models" {
            headers.append(("x-llmgw-cache", record.cache))
        }
        headers.append(contentsOf: extraHeaders)
        headers.append(("x-llmgw-overhead-us", String(overheadMicroseconds)))
        return headers
    }
}

enum RequestID {
    /// A client-supplied id is echoed when it is short and printable (it ends up in logs).
    static func accept(_ value: String?) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= 128,
            value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
        else { return nil }
        return value
    }

    static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        let hex = String(high, radix: 16) + String(low, radix: 16)
        return "req_" + String(repeating: "0", count: max(0, 32 - hex.count)) + hex
    }
}

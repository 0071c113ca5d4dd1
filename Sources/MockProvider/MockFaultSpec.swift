/// A parsed fault specification: `;`-separated faults such as `status=503x2;delay=200ms`.
///
/// The same grammar is used by `llmgw-mock --faults`, `MockProviderServer.setFaults(_:)`,
/// `POST /_mock/faults` and the per-request model suffix (`gpt-4o#status=503`).
///
///     status=CODE[xN]       answer CODE with the dialect's error body, for the first N requests (default: always)
///     retry_after=SECONDS   retry-after header on injected 429/503 (429 defaults to 1)
///     delay=DURATION        wait before the response head (units: us, ms, s, m)
///     chunk_delay=DURATION  wait between stream events
///     stall=N               stream: stop after N events, keep the connection open
///     cut=N                 stream: close the connection after N events
///     reset[=N]             reset the connection on receipt, or after N stream events
///     error_event=N         stream: after N events send the dialect's in-band error and end, no terminator
///     p=FRACTION            probability that the whole set applies to a request
///     seed=K                seed of the deterministic generator behind `p`
public struct MockFaultSpec: Sendable, Equatable {
    public var status: Int?
    /// How many requests get `status`; nil means every request.
    public var statusTimes: Int?
    public var retryAfterSeconds: Int?
    public var delay: Duration?
    public var chunkDelay: Duration?
    public var stallAfter: Int?
    public var cutAfter: Int?
    /// 0 means on receipt of the request.
    public var resetAfter: Int?
    public var errorEventAfter: Int?
    public var probability: Double = 1
    public var seed: UInt64 = 0x6C6C_6D67_772D_6D6B

    public init() {}

    /// True when no fault is set.
    public var isEmpty: Bool {
        status == nil && retryAfterSeconds == nil && delay == nil && chunkDelay == nil && stallAfter == nil
            && cutAfter == nil && resetAfter == nil && errorEventAfter == nil
    }

    /// Parses `spec`; an empty or blank spec has no faults. Throws naming the part it cannot read.
    public init(parsing spec: String) throws(MockFaultSpecError) {
        for rawPart in spec.split(separator: ";") {
            let part = rawPart.trimmingSpaces()
            if part.isEmpty { continue }
            let key: Substring
            let value: Substring?
            if let equals = part.firstIndex(of: "=") {
                key = part[..<equals]
                value = part[part.index(after: equals)...]
            } else {
                key = part[...]
                value = nil
            }
            try apply(key: String(key), value: value.map(String.init), part: String(part))
        }
    }

    private mutating func apply(key: String, value: String?, part: String) throws(MockFaultSpecError) {
        func required() throws(MockFaultSpecError) -> String {
            guard let value, !value.isEmpty else { throw MockFaultSpecError(part: part, reason: "needs a value") }
            return value
        }
        func count() throws(MockFaultSpecError) -> Int {
            guard let number = Int(try required()), number >= 0 else {
                throw MockFaultSpecError(part: part, reason: "expects a whole number")
            }
            return number
        }
        func duration() throws(MockFaultSpecError) -> Duration {
            guard let parsed = Self.parseDuration(try required()) else {
                throw MockFaultSpecError(part: part, reason: "expects a duration such as 200ms or 2s")
            }
            return parsed
        }
        switch key {
        case "status":
            let text = try required()
            let pieces = text.split(separator: "x", maxSplits: 1, omittingEmptySubsequences: false)
            guard let code = Int(pieces[0]), (100...599).contains(code) else {
                throw MockFaultSpecError(part: part, reason: "expects an HTTP status such as 503 or 429x2")
            }
            status = code
            statusTimes = nil
            if pieces.count == 2 {
                guard let times = Int(pieces[1]), times > 0 else {
                    throw MockFaultSpecError(part: part, reason: "expects a positive repeat count after x")
                }
                statusTimes = times
            }
        case "retry_after": retryAfterSeconds = try count()
        case "delay": delay = try duration()
        case "chunk_delay": chunkDelay = try duration()
        case "stall": stallAfter = try count()
        case "cut": cutAfter = try count()
        case "reset": resetAfter = value == nil ? 0 : try count()
        case "error_event": errorEventAfter = try count()
        case "p":
            guard let fraction = Double(try required()), (0...1).contains(fraction) else {
                throw MockFaultSpecError(part: part, reason: "expects a probability between 0 and 1")
            }
            probability = fraction
        case "seed":
            guard let number = UInt64(try required()) else {
                throw MockFaultSpecError(part: part, reason: "expects a whole number")
            }
            seed = number
        default:
            throw MockFaultSpecError(part: part, reason: "unknown fault '\(key)'")
        }
    }

    /// `250ms`, `2s`, `1.5s`, `500us`, `1m`; a unit is required.
    static func parseDuration(_ text: String) -> Duration? {
        let units: [(suffix: String, nanoseconds: Double)] = [
            ("us", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9),
        ]
        for unit in units where text.hasSuffix(unit.suffix) {
            // Bounded so the conversion to whole nanoseconds cannot trap (at most about 292 years).
            guard let number = Double(text.dropLast(unit.suffix.count)), number >= 0,
                number * unit.nanoseconds < 9e18
            else { return nil }
            return .nanoseconds(Int64(number * unit.nanoseconds))
        }
        return nil
    }
}

/// A fault specification that cannot be read; `part` is the offending `;`-separated piece.
public struct MockFaultSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var part: String
    public var reason: String

    public var description: String { "invalid fault '\(part)': \(reason)" }
}

extension Substring {
    fileprivate func trimmingSpaces() -> Substring {
        var slice = self
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return slice
    }
}

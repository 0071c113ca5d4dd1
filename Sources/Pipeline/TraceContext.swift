import GatewayCore

/// The W3C Trace Context (https://www.w3.org/TR/trace-context/) of one request.
///
/// A valid `traceparent` from the client is continued: its trace id is kept (and logged as
/// `trace_id`), its flags and `tracestate` are passed on. Anything else — no header, two of them,
/// a malformed one, an all-zero id, version `ff` — starts a new trace with a random id. Every
/// upstream attempt is its own span: `traceparent(span:)` names a fresh parent id per attempt
/// under the same trace id.
struct TraceContext: Sendable, Equatable {
    /// 32 lowercase hex digits, never all zeros.
    let traceID: String
    /// The client's span (the parent of the gateway's), when the client sent a valid `traceparent`.
    let parentID: String?
    /// Two lowercase hex digits; `01` (sampled) for a trace the gateway starts.
    let flags: String
    /// The client's `tracestate`, passed on unchanged; nil when absent, too long or not printable.
    let state: String?

    /// The longest `tracestate` passed on (the spec asks vendors to propagate at least 512 bytes).
    static let maximumStateBytes = 512

    init(traceID: String, parentID: String?, flags: String, state: String?) {
        self.traceID = traceID
        self.parentID = parentID
        self.flags = flags
        self.state = state
    }

    /// The client's trace when its `traceparent` is valid, else a new one drawn from `random`.
    init(request: GatewayRequest, random: any RandomSource) {
        let parents = request.headers.filter { $0.name == "traceparent" }
        if parents.count == 1, let parsed = Self.parse(traceparent: parents[0].value) {
            let states = request.headers.filter { $0.name == "tracestate" }.map(\.value)
            self.init(
                traceID: parsed.traceID, parentID: parsed.parentID, flags: parsed.flags,
                state: Self.acceptState(states.joined(separator: ",")))
        } else {
            self.init(traceID: Self.newTraceID(random), parentID: nil, flags: "01", state: nil)
        }
    }

    /// The headers for one upstream attempt: `traceparent` with `span` as its parent id (the
    /// attempt's own span), and `tracestate` when the client sent one.
    func headers(span: String) -> [(name: String, value: String)] {
        var headers = [(name: "traceparent", value: "00-\(traceID)-\(span)-\(flags)")]
        if let state { headers.append((name: "tracestate", value: state)) }
        return headers
    }

    /// The fields of a valid `traceparent` (version 00, or a later version read as 00 would be).
    static func parse(traceparent value: String) -> (traceID: String, parentID: String, flags: String)? {
        let bytes = Array(value.utf8)
        guard bytes.count >= 55 else { return nil }
        let version = bytes[0..<2]
        guard isLowerHex(version), version != [0x66, 0x66] else { return nil }  // "ff" is never valid
        // Version 00 is exactly 55 characters; a later version may append fields after a dash.
        if version == [0x30, 0x30] {
            guard bytes.count == 55 else { return nil }
        } else if bytes.count > 55, bytes[55] != UInt8(ascii: "-") {
            return nil
        }
        let dash = UInt8(ascii: "-")
        guard bytes[2] == dash, bytes[35] == dash, bytes[52] == dash else { return nil }
        let traceID = bytes[3..<35]
        let parentID = bytes[36..<52]
        let flags = bytes[53..<55]
        guard isLowerHex(traceID), isLowerHex(parentID), isLowerHex(flags),
            traceID.contains(where: { $0 != 0x30 }), parentID.contains(where: { $0 != 0x30 })
        else { return nil }
        return (
            String(decoding: traceID, as: UTF8.self), String(decoding: parentID, as: UTF8.self),
            String(decoding: flags, as: UTF8.self)
        )
    }

    static func acceptState(_ value: String) -> String? {
        let trimmed = value.utf8.drop { $0 == 0x20 || $0 == 0x09 }
        guard !trimmed.isEmpty, value.utf8.count <= maximumStateBytes,
            value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F })
        else { return nil }
        return value
    }

    /// 16 random bytes as 32 lowercase hex digits, never all zeros.
    static func newTraceID(_ random: any RandomSource) -> String {
        while true {
            let high = random.next()
            let low = random.next()
            if high != 0 || low != 0 { return hex(high, low) }
        }
    }

    /// 8 random bytes as 16 lowercase hex digits, never all zeros: one attempt's span id.
    static func newSpanID(_ random: any RandomSource = SystemRandomSource()) -> String {
        while true {
            let value = random.next()
            if value != 0 { return hex(value, nil) }
        }
    }

    /// `first` (then `second`) as 16 zero-padded lowercase hex digits each, written into the
    /// string's own storage: one allocation (every request makes a trace id, every attempt a span id).
    private static func hex(_ first: UInt64, _ second: UInt64?) -> String {
        String(unsafeUninitializedCapacity: second == nil ? 16 : 32) { buffer in
            let digits: StaticString = "0123456789abcdef"
            var index = 0
            func write(_ value: UInt64) {
                for shift in stride(from: 60, through: 0, by: -4) {
                    buffer[index] = digits.utf8Start[Int((value >> UInt64(shift)) & 0xF)]
                    index += 1
                }
            }
            write(first)
            if let second { write(second) }
            return index
        }
    }

    private static func isLowerHex(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}

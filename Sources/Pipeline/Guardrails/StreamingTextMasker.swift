/// Masks a text that arrives in pieces (the deltas of a streamed answer) without letting an entity
/// split across pieces through: it holds back at most `holdBack` bytes of the text seen so far,
/// and never cuts inside a match. An entity of up to `holdBack` bytes is therefore always seen
/// whole before any of it is released; a longer one may be released in part (docs/guardrails.md,
/// "Streams").
///
/// Not yet wired into the stream relay: see docs/guardrails.md, "Status".
struct StreamingTextMasker: Sendable {
    /// The most bytes held back from the client at any time.
    static let holdBack = 128

    let guardrail: Guardrail
    private var pending: [UInt8] = []
    private var numbering: [String: Int] = [:]
    private var assigned: [String: String] = [:]
    private(set) var report = GuardrailReport()

    init(guardrail: Guardrail) {
        self.guardrail = guardrail
    }

    /// Takes the next piece of text; returns what may be sent now, masked.
    mutating func feed(_ piece: [UInt8]) -> [UInt8] {
        pending += piece
        return release(upTo: pending.count - Self.holdBack)
    }

    /// The end of the text: everything still held, masked.
    mutating func finish() -> [UInt8] {
        release(upTo: pending.count)
    }

    private mutating func release(upTo wanted: Int) -> [UInt8] {
        guard wanted > 0 else { return [] }
        let matches = guardrail.matches(in: pending)
        var cut = wanted
        // Never cut through a match: it waits whole for the next piece.
        for match in matches where match.range.lowerBound < cut && match.range.upperBound > cut {
            cut = match.range.lowerBound
        }
        guard cut > 0 else { return [] }
        // A cut inside a UTF-8 sequence waits for its end.
        while cut > 0, cut < pending.count, pending[cut] & 0xC0 == 0x80 { cut -= 1 }
        var output: [UInt8] = []
        var cursor = 0
        for match in matches where match.range.upperBound <= cut {
            output += pending[cursor..<match.range.lowerBound]
            output += Array(placeholder(for: match).utf8)
            cursor = match.range.upperBound
        }
        output += pending[cursor..<cut]
        pending.removeFirst(cut)
        return output
    }

    private mutating func placeholder(for match: PIIMatch) -> String {
        let action = guardrail.configuration.action
        report.count(guardrail: guardrail.configuration.name, entity: match.label.lowercased(), action: action.rawValue)
        let key = match.label + "\u{0}" + String(decoding: pending[match.range], as: UTF8.self)
        if let known = assigned[key] { return known }
        let number = (numbering[match.label] ?? 0) + 1
        numbering[match.label] = number
        let placeholder = "[\(match.label)_\(number)]"
        assigned[key] = placeholder
        return placeholder
    }
}

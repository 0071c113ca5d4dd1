import GatewayCore

/// The placeholders of one request: the same value gets the same placeholder wherever it appears
/// (request, answer, every stream channel), the next value of a type the next number. Those made
/// by a `restore: true` guardrail are remembered with their value, to be put back in the answer.
struct PlaceholderBook: Sendable {
    private var numbering: [String: Int] = [:]
    private var assigned: [String: String] = [:]
    /// Placeholder → original value, for reversible masking.
    private(set) var restorable: [String: String] = [:]

    mutating func placeholder(label: String, value: String, restorable keep: Bool) -> String {
        let key = label + "\u{0}" + value
        if let known = assigned[key] {
            if keep { restorable[known] = value }
            return known
        }
        let number = (numbering[label] ?? 0) + 1
        numbering[label] = number
        let placeholder = "[\(label)_\(number)]"
        assigned[key] = placeholder
        if keep { restorable[placeholder] = value }
        return placeholder
    }
}

/// The matches of several guardrails in one text, in order and never overlapping: where two
/// claim the same bytes, the guardrail listed first wins.
enum GuardrailMatching {
    static func matches(_ guardrails: [Guardrail], in text: [UInt8]) -> [(match: PIIMatch, guardrail: Int)] {
        if guardrails.count == 1 { return guardrails[0].matches(in: text).map { ($0, 0) } }
        var found: [(match: PIIMatch, guardrail: Int)] = []
        for (index, guardrail) in guardrails.enumerated() {
            for match in guardrail.matches(in: text)
            where !found.contains(where: { $0.match.range.overlaps(match.range) }) {
                found.append((match, index))
            }
        }
        return found.sorted { $0.match.range.lowerBound < $1.match.range.lowerBound }
    }
}

/// Masks a text that arrives in pieces (the deltas of a streamed answer) without letting an entity
/// split across pieces through: it holds back at most `holdBack` bytes of the text seen so far,
/// (less: only a tail that could still become an entity, see `heldFrom`), and never cuts inside
/// a match. An entity of up to `holdBack` bytes is therefore always seen
/// whole before any of it is released; a longer one may be released in part (docs/guardrails.md,
/// "Streams"). A match of an `action: reject` guardrail releases the text before it and nothing
/// after: `refusal` is set and the caller ends the answer.
struct StreamingTextMasker: Sendable {
    /// The most bytes held back from the client at any time.
    static let holdBack = 128

    let guardrails: [Guardrail]
    /// Count the matches in the report (off for texts already counted in their deltas).
    var counting = true
    private var pending: [UInt8] = []
    private(set) var refusal: GuardrailRefusal?

    init(guardrails: [Guardrail], counting: Bool = true) {
        self.guardrails = guardrails
        self.counting = counting
    }

    /// Takes the next piece of text; returns what may be sent now, masked.
    mutating func feed(_ piece: [UInt8], book: inout PlaceholderBook, report: inout GuardrailReport) -> [UInt8] {
        guard refusal == nil else { return [] }
        pending += piece
        return release(upTo: heldFrom(), book: &book, report: &report)
    }

    /// Where the held tail begins: never more than `holdBack` bytes from the end, and with only
    /// built-in detectors, just the tail that could still grow into an entity (the word being
    /// written, a run of digits and separators): prose flows with about one token held back.
    /// Operator patterns can match anything, so they hold the whole `holdBack`.
    private func heldFrom() -> Int {
        let floor = max(0, pending.count - Self.holdBack)
        var start = pending.count
        for guardrail in guardrails {
            guard let detector = guardrail.detector else { return floor }
            start = min(start, detector.tailStart(pending, floor: floor))
        }
        return start
    }

    /// The end of the text: everything still held, masked.
    mutating func finish(book: inout PlaceholderBook, report: inout GuardrailReport) -> [UInt8] {
        guard refusal == nil else { return [] }
        return release(upTo: pending.count, book: &book, report: &report)
    }

    /// True while text is held back.
    var isHolding: Bool { !pending.isEmpty && refusal == nil }

    /// A whole text masked at once.
    static func mask(
        _ text: [UInt8], guardrails: [Guardrail], counting: Bool, book: inout PlaceholderBook,
        report: inout GuardrailReport
    ) -> (text: [UInt8], refusal: GuardrailRefusal?) {
        var masker = StreamingTextMasker(guardrails: guardrails, counting: counting)
        masker.pending = text
        let masked = masker.release(upTo: text.count, book: &book, report: &report)
        return (masked, masker.refusal)
    }

    private mutating func release(upTo wanted: Int, book: inout PlaceholderBook, report: inout GuardrailReport)
        -> [UInt8]
    {
        guard wanted > 0 else { return [] }
        let matches = GuardrailMatching.matches(guardrails, in: pending)
        var cut = wanted
        // Never cut through a match: it waits whole for the next piece.
        for (match, _) in matches where match.range.lowerBound < cut && match.range.upperBound > cut {
            cut = match.range.lowerBound
        }
        guard cut > 0 else { return [] }
        // A cut inside a UTF-8 sequence waits for its end.
        while cut > 0, cut < pending.count, pending[cut] & 0xC0 == 0x80 { cut -= 1 }
        var output: [UInt8] = []
        output.reserveCapacity(cut)
        var cursor = 0
        for (match, index) in matches where match.range.upperBound <= cut {
            let configuration = guardrails[index].configuration
            let entity = match.label.lowercased()
            if counting {
                report.count(guardrail: configuration.name, entity: entity, action: configuration.action.rawValue)
            }
            switch configuration.action {
            case .log:
                continue
            case .reject:
                output += pending[cursor..<match.range.lowerBound]
                refusal = GuardrailRefusal(guardrail: configuration.name, entities: [entity], side: .response)
                pending = []
                return output
            case .mask:
                output += pending[cursor..<match.range.lowerBound]
                let value = String(decoding: pending[match.range], as: UTF8.self)
                output += Array(book.placeholder(label: match.label, value: value, restorable: false).utf8)
                cursor = match.range.upperBound
            }
        }
        output += pending[cursor..<cut]
        pending.removeFirst(cut)
        return output
    }
}

/// Puts the values of reversible placeholders back into a text that may arrive in pieces: a `[`
/// that could still begin a placeholder is held until it is complete (at most the longest
/// placeholder's length), then replaced by its value. Placeholders of other requests, or ones the
/// model altered, stay as they are.
struct PlaceholderRestorer: Sendable {
    private let values: [[UInt8]: [UInt8]]
    private let longest: Int
    private var pending: [UInt8] = []

    /// `escapingForJSON`: the text is itself JSON (tool-call arguments), so a value is written
    /// as JSON string content.
    init(_ restorable: [String: String], escapingForJSON: Bool) {
        var values: [[UInt8]: [UInt8]] = [:]
        for (placeholder, value) in restorable {
            values[Array(placeholder.utf8)] = escapingForJSON ? JSONStringContent.escaped(value) : Array(value.utf8)
        }
        self.values = values
        self.longest = values.keys.map(\.count).max() ?? 0
    }

    var isEmpty: Bool { values.isEmpty }

    mutating func feed(_ text: [UInt8]) -> [UInt8] {
        guard !values.isEmpty else { return text }
        pending += text
        return release(final: false)
    }

    mutating func finish() -> [UInt8] {
        guard !values.isEmpty else { return [] }
        return release(final: true)
    }

    private static func isPlaceholderByte(_ byte: UInt8) -> Bool {
        (0x41...0x5A).contains(byte) || (0x30...0x39).contains(byte) || byte == UInt8(ascii: "_")
    }

    private mutating func release(final: Bool) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(pending.count)
        var index = 0
        while index < pending.count {
            let byte = pending[index]
            guard byte == UInt8(ascii: "[") else {
                output.append(byte)
                index += 1
                continue
            }
            var end = index + 1
            while end < pending.count, end - index < longest, Self.isPlaceholderByte(pending[end]) { end += 1 }
            if end < pending.count, pending[end] == UInt8(ascii: "]"), let value = values[Array(pending[index...end])] {
                output += value
                index = end + 1
            } else if end == pending.count && end - index < longest && !final {
                break  // may still become a placeholder
            } else {
                output.append(byte)
                index += 1
            }
        }
        pending.removeFirst(index)
        return output
    }
}

/// JSON string content (between the quotes) for a value, escaped as `JSONWriter` escapes it.
enum JSONStringContent {
    static func escaped(_ value: String) -> [UInt8] {
        var json = JSONWriter()
        json.string(value)
        return Array(json.bytes.dropFirst().dropLast())
    }

    static func escaped(_ bytes: [UInt8]) -> [UInt8] {
        escaped(String(decoding: bytes, as: UTF8.self))
    }
}

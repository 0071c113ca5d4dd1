/// Finds the string values of a JSON body and lets a guardrail rewrite spans of them in place, so
/// that everything outside the rewritten spans stays byte-exact (a passthrough request reaches the
/// provider as the client wrote it, bar the masks).
///
/// Object keys are never rewritten, nor the values of the keys in `structuralKeys` (model names,
/// roles, ids, media and signatures a provider checks byte for byte).
enum JSONTextScanner {
    static let structuralKeys: Set<String> = [
        "model", "role", "type", "id", "tool_call_id", "tool_use_id", "call_id", "name", "stop_reason",
        "finish_reason", "previous_response_id", "url", "data", "media_type", "signature", "encrypted_content",
        "object", "format", "detail", "service_tier", "reasoning_effort", "tool_choice",
        // Signed by the provider: a masked thinking text fails the signature on the next turn.
        "thinking",
    ]

    /// One string value: its decoded UTF-8 bytes and, for each of them, where in the body the
    /// escape or character that produced it starts and ends.
    struct Text {
        var decoded: [UInt8]
        var starts: [Int]
        var ends: [Int]
        /// The body range of the literal between its quotes.
        var literal: Range<Int>
        /// The key of the member the string is (or is in an array of), nil at the top level.
        var key: String?

        /// The body range of decoded bytes `range`.
        func bodyRange(_ range: Range<Int>) -> Range<Int> {
            starts[range.lowerBound]..<ends[range.upperBound - 1]
        }
    }

    /// Every string value of `body` that is not a key nor a structural value, in order. A body that
    /// is not well-formed yields the strings read up to the fault (the dialect rejects it later).
    static func texts(_ body: [UInt8]) -> [Text] {
        var texts: [Text] = []
        var index = 0
        var lastKey: String?
        while index < body.count {
            guard body[index] == UInt8(ascii: "\"") else {
                index += 1
                continue
            }
            guard var text = readString(body, quote: index) else { break }
            index = text.literal.upperBound + 1
            var next = index
            while next < body.count, [0x20, 0x09, 0x0A, 0x0D].contains(body[next]) { next += 1 }
            if next < body.count, body[next] == UInt8(ascii: ":") {
                lastKey = String(decoding: text.decoded, as: UTF8.self)
                index = next + 1
            } else if let key = lastKey, structuralKeys.contains(key) {
                continue
            } else if !text.decoded.isEmpty {
                text.key = lastKey
                texts.append(text)
            }
        }
        return texts
    }

    /// Reads the string literal whose opening quote is at `quote`.
    static func readString(_ body: [UInt8], quote: Int) -> Text? {
        var text = Text(decoded: [], starts: [], ends: [], literal: (quote + 1)..<(quote + 1))
        var index = quote + 1
        func append(_ bytes: some Sequence<UInt8>, from start: Int, to end: Int) {
            for byte in bytes {
                text.decoded.append(byte)
                text.starts.append(start)
                text.ends.append(end)
            }
        }
        while index < body.count {
            let byte = body[index]
            if byte == UInt8(ascii: "\"") {
                text.literal = (quote + 1)..<index
                return text
            }
            guard byte == UInt8(ascii: "\\") else {
                append([byte], from: index, to: index + 1)
                index += 1
                continue
            }
            guard index + 1 < body.count else { return nil }
            let escape = body[index + 1]
            switch escape {
            case UInt8(ascii: "u"):
                guard var scalar = hex4(body, index + 2) else { return nil }
                var end = index + 6
                if (0xD800..<0xDC00).contains(scalar), end + 1 < body.count, body[end] == UInt8(ascii: "\\"),
                    body[end + 1] == UInt8(ascii: "u"), let low = hex4(body, end + 2), (0xDC00..<0xE000).contains(low)
                {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    end += 6
                }
                let character = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                append(Array(String(character).utf8), from: index, to: end)
                index = end
            default:
                let decoded: UInt8 =
                    switch escape {
                    case UInt8(ascii: "n"): 0x0A
                    case UInt8(ascii: "t"): 0x09
                    case UInt8(ascii: "r"): 0x0D
                    case UInt8(ascii: "b"): 0x08
                    case UInt8(ascii: "f"): 0x0C
                    default: escape
                    }
                append([decoded], from: index, to: index + 2)
                index += 2
            }
        }
        return nil
    }

    static func hex4(_ body: [UInt8], _ start: Int) -> UInt32? {
        guard start + 4 <= body.count else { return nil }
        var value: UInt32 = 0
        for byte in body[start..<(start + 4)] {
            guard let digit = Character(Unicode.Scalar(byte)).hexDigitValue else { return nil }
            value = value * 16 + UInt32(digit)
        }
        return value
    }

    /// `body` with each of `replacements` (body ranges, ascending, disjoint) replaced.
    static func rewrite(_ body: [UInt8], _ replacements: [(range: Range<Int>, bytes: [UInt8])]) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(body.count)
        var cursor = 0
        for replacement in replacements {
            output += body[cursor..<replacement.range.lowerBound]
            output += replacement.bytes
            cursor = replacement.range.upperBound
        }
        output += body[cursor...]
        return output
    }
}

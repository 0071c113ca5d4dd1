/// A validating JSON scanner that records where each member of the top-level object lies, without
/// building a tree. The passthrough path uses it to check a request and to splice the few values
/// it must change (`model`, `stream_options`) while every other byte reaches the provider as sent.
public enum JSONScanner {
    /// Nesting deeper than this is rejected (protects the stack from hostile bodies).
    public static let maximumDepth = 256

    /// Scans `bytes[range]` (the whole buffer by default), which must hold exactly one JSON object.
    public static func scanObject(_ bytes: [UInt8], in range: Range<Int>? = nil) throws(JSONScanError) -> JSONObjectScan
    {
        let range = range ?? 0..<bytes.count
        return try bytes.withUnsafeBufferPointer { buffer throws(JSONScanError) in
            var cursor = Cursor(buffer: buffer, index: range.lowerBound, end: range.upperBound)
            cursor.skipWhitespace()
            guard cursor.peek() == UInt8(ascii: "{") else { throw cursor.error("expected a JSON object") }
            var members: [JSONObjectScan.Member] = []
            try cursor.scanObject(depth: 0, members: &members)
            cursor.skipWhitespace()
            guard cursor.index == cursor.end else { throw cursor.error("unexpected data after the JSON value") }
            return JSONObjectScan(members: members)
        }
    }

    /// Checks that `bytes[range]` is one valid JSON value of any kind.
    public static func validate(_ bytes: [UInt8], in range: Range<Int>? = nil) throws(JSONScanError) {
        let range = range ?? 0..<bytes.count
        try bytes.withUnsafeBufferPointer { buffer throws(JSONScanError) in
            var cursor = Cursor(buffer: buffer, index: range.lowerBound, end: range.upperBound)
            cursor.skipWhitespace()
            _ = try cursor.scanValue(depth: 0)
            cursor.skipWhitespace()
            guard cursor.index == cursor.end else { throw cursor.error("unexpected data after the JSON value") }
        }
    }
}

public struct JSONScanError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String

    public var description: String { "\(reason) at byte \(offset)" }
}

/// The members of one JSON object, in order, as byte ranges into the scanned buffer.
public struct JSONObjectScan: Sendable {
    public enum Kind: Sendable, Equatable {
        case object, array, string, number, bool, null
    }

    public struct Member: Sendable {
        public let name: String
        /// The whole member including its key (`"model":"gpt-4o"`), for removal.
        public let memberRange: Range<Int>
        /// The value's bytes (`"gpt-4o"` with its quotes).
        public let valueRange: Range<Int>
        public let kind: Kind
    }

    public let members: [Member]

    /// The last member with this name (JSON parsers take the last duplicate).
    public func member(_ name: String) -> Member? {
        members.last { $0.name == name }
    }
}

extension JSONScanner {
    struct Cursor {
        let buffer: UnsafeBufferPointer<UInt8>
        var index: Int
        let end: Int

        func peek() -> UInt8? { index < end ? buffer[index] : nil }

        func error(_ reason: String) -> JSONScanError { JSONScanError(offset: index, reason: reason) }

        mutating func skipWhitespace() {
            while index < end {
                switch buffer[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func expect(_ byte: UInt8, _ what: String) throws(JSONScanError) {
            guard peek() == byte else { throw error("expected \(what)") }
            index += 1
        }

        mutating func scanValue(depth: Int) throws(JSONScanError) -> JSONObjectScan.Kind {
            guard let byte = peek() else { throw error("unexpected end of JSON") }
            switch byte {
            case UInt8(ascii: "{"):
                var ignored: [JSONObjectScan.Member] = []
                try scanObject(depth: depth + 1, members: &ignored, record: false)
                return .object
            case UInt8(ascii: "["):
                try scanArray(depth: depth + 1)
                return .array
            case UInt8(ascii: "\""):
                _ = try scanString(decode: false)
                return .string
            case UInt8(ascii: "t"):
                try scanLiteral("true")
                return .bool
            case UInt8(ascii: "f"):
                try scanLiteral("false")
                return .bool
            case UInt8(ascii: "n"):
                try scanLiteral("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try scanNumber()
                return .number
            default:
                throw error("unexpected character")
            }
        }

        mutating func scanObject(
            depth: Int,
            members: inout [JSONObjectScan.Member],
            record: Bool = true
        ) throws(JSONScanError) {
            guard depth < JSONScanner.maximumDepth else { throw error("JSON nested too deeply") }
            index += 1  // {
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                let memberStart = index
                guard peek() == UInt8(ascii: "\"") else { throw error("expected a member name") }
                let name = try scanString(decode: record)
                skipWhitespace()
                try expect(UInt8(ascii: ":"), "':'")
                skipWhitespace()
                let valueStart = index
                let kind = try scanValue(depth: depth)
                if record {
                    members.append(
                        .init(
                            name: name ?? "", memberRange: memberStart..<index, valueRange: valueStart..<index,
                            kind: kind)
                    )
                }
                skipWhitespace()
                guard let next = peek() else { throw error("unexpected end of JSON") }
                index += 1
                if next == UInt8(ascii: "}") { return }
                guard next == UInt8(ascii: ",") else {
                    index -= 1
                    throw error("expected ',' or '}'")
                }
            }
        }

        mutating func scanArray(depth: Int) throws(JSONScanError) {
            guard depth < JSONScanner.maximumDepth else { throw error("JSON nested too deeply") }
            index += 1  // [
            skipWhitespace()
            if peek() == UInt8(ascii: "]") {
                index += 1
                return
            }
            while true {
                skipWhitespace()
                _ = try scanValue(depth: depth)
                skipWhitespace()
                guard let next = peek() else { throw error("unexpected end of JSON") }
                index += 1
                if next == UInt8(ascii: "]") { return }
                guard next == UInt8(ascii: ",") else {
                    index -= 1
                    throw error("expected ',' or ']'")
                }
            }
        }

        /// Scans a string; returns its decoded text when `decode` is set.
        mutating func scanString(decode: Bool) throws(JSONScanError) -> String? {
            index += 1  // opening quote
            let start = index
            var hasEscapes = false
            while index < end {
                let byte = buffer[index]
                if byte == UInt8(ascii: "\"") {
                    let raw = UnsafeBufferPointer(rebasing: buffer[start..<index])
                    index += 1
                    guard decode else { return nil }
                    return hasEscapes ? JSONScanner.unescape(raw) : String(decoding: raw, as: UTF8.self)
                }
                if byte < 0x20 { throw error("control character in string") }
                if byte == UInt8(ascii: "\\") {
                    hasEscapes = true
                    index += 1
                    guard index < end else { break }
                    switch buffer[index] {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                        UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        index += 1
                    case UInt8(ascii: "u"):
                        index += 1
                        for _ in 0..<4 {
                            guard index < end, JSONScanner.hexValue(buffer[index]) != nil else {
                                throw error("bad \\u escape")
                            }
                            index += 1
                        }
                    default:
                        throw error("bad escape")
                    }
                    continue
                }
                index += 1
            }
            throw error("unterminated string")
        }

        mutating func scanLiteral(_ literal: StaticString) throws(JSONScanError) {
            let count = literal.utf8CodeUnitCount
            guard end - index >= count else { throw error("unexpected end of JSON") }
            let expected = UnsafeBufferPointer(start: literal.utf8Start, count: count)
            for offset in 0..<count where buffer[index + offset] != expected[offset] {
                throw error("invalid literal")
            }
            index += count
        }

        mutating func scanNumber() throws(JSONScanError) {
            if peek() == UInt8(ascii: "-") { index += 1 }
            guard let first = peek(), first >= UInt8(ascii: "0"), first <= UInt8(ascii: "9") else {
                throw error("invalid number")
            }
            index += 1
            if first != UInt8(ascii: "0") { skipDigits() }
            if peek() == UInt8(ascii: ".") {
                index += 1
                guard try digitFollows() else { throw error("invalid number") }
                skipDigits()
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                index += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
                guard try digitFollows() else { throw error("invalid number") }
                skipDigits()
            }
        }

        private func digitFollows() throws(JSONScanError) -> Bool {
            guard let byte = peek() else { return false }
            return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
        }

        private mutating func skipDigits() {
            while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        }
    }

    static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Decodes the escapes of an already validated string body.
    static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> String {
        var scalars = String.UnicodeScalarView()
        var utf8: [UInt8] = []
        func flush() {
            if !utf8.isEmpty {
                scalars.append(contentsOf: String(decoding: utf8, as: UTF8.self).unicodeScalars)
                utf8.removeAll(keepingCapacity: true)
            }
        }
        var index = 0
        var pendingHigh: UInt32?
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\") else {
                utf8.append(byte)
                index += 1
                continue
            }
            flush()
            let escape = raw[index + 1]
            index += 2
            var scalar: UInt32
            switch escape {
            case UInt8(ascii: "b"): scalar = 0x08
            case UInt8(ascii: "f"): scalar = 0x0C
            case UInt8(ascii: "n"): scalar = 0x0A
            case UInt8(ascii: "r"): scalar = 0x0D
            case UInt8(ascii: "t"): scalar = 0x09
            case UInt8(ascii: "u"):
                scalar = 0
                for offset in 0..<4 { scalar = scalar << 4 | (hexValue(raw[index + offset]) ?? 0) }
                index += 4
            default: scalar = UInt32(escape)
            }
            if (0xD800..<0xDC00).contains(scalar) {
                pendingHigh = scalar
                continue
            }
            if (0xDC00..<0xE000).contains(scalar), let high = pendingHigh {
                scalar = 0x10000 + ((high - 0xD800) << 10) + (scalar - 0xDC00)
            }
            pendingHigh = nil
            scalars.append(Unicode.Scalar(scalar) ?? "\u{FFFD}")
        }
        flush()
        return String(scalars)
    }
}

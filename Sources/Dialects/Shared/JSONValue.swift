import GatewayCore

/// A parsed JSON value, for the translating codecs that read whole bodies. Built by
/// `JSONScanner.parse` (same validation, depth limit and errors as the scanner), so it is the one
/// JSON reading model of Dialects besides the scanner's byte ranges (which passthrough splicing
/// and cache keys keep using).
///
/// Nothing of the source is lost that a translation could need: object members keep their order
/// (tool-call arguments are never reordered), numbers keep their source text (`1.0` stays `1.0`,
/// `12345678901234567890` stays exact), strings are decoded, `true`/`false` are real bools.
/// Writing a value back (`bytes`, `JSONWriter.value`) gives compact JSON in the same order.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// A number as it was written (validated JSON number syntax). Two numbers are equal when their
    /// texts are (`1.0` is not `1`).
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public var string: String? { if case .string(let value) = self { value } else { nil } }
    public var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    public var array: [JSONValue]? { if case .array(let value) = self { value } else { nil } }
    public var object: JSONObject? { if case .object(let value) = self { value } else { nil } }
    public var isNull: Bool { self == .null }
    /// A number's source text.
    public var numberText: String? { if case .number(let text) = self { text } else { nil } }

    /// A number that is an integer: written as one and within `Int`, or written with a fraction or
    /// exponent that is integral (`3.0`, `1e3`) and below 9e15 in magnitude (exact in a `Double`).
    public var int: Int? {
        guard case .number(let text) = self else { return nil }
        if let value = Int(text) { return value }
        return Self.integral(text).map { Int($0) }
    }

    /// As `int`, in 64 bits on every platform.
    public var int64: Int64? {
        guard case .number(let text) = self else { return nil }
        if let value = Int64(text) { return value }
        return Self.integral(text).map { Int64($0) }
    }

    /// A number as the nearest `Double` (±infinity when it is out of range).
    public var double: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(text)
    }

    /// The member `key` of an object (the last one when it is repeated); nil for a missing member
    /// or a value that is not an object.
    public subscript(key: String) -> JSONValue? { object?[key] }

    /// The element at `index` of an array; nil when out of range or not an array.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }

    /// Compact JSON text, members in their order, numbers as written.
    public var bytes: [UInt8] {
        var writer = JSONWriter()
        writer.value(self)
        return writer.bytes
    }

    private static func integral(_ text: String) -> Double? {
        guard let double = Double(text), double.rounded() == double, abs(double) < 9e15 else { return nil }
        return double
    }
}

/// A JSON object's members in source order. Lookup by key takes the last duplicate, as JSON
/// parsers (and `JSONObjectScan.member`) do.
public struct JSONObject: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue

        public init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    public var members: [Member]

    public init(_ members: [Member] = []) {
        self.members = members
    }

    public var isEmpty: Bool { members.isEmpty }

    public subscript(key: String) -> JSONValue? {
        members.last { $0.key == key }?.value
    }

    /// Sets member `key` (the last one when it is repeated), appending it when it is missing.
    public mutating func set(_ key: String, _ value: JSONValue) {
        if let index = members.lastIndex(where: { $0.key == key }) {
            members[index].value = value
        } else {
            members.append(Member(key: key, value: value))
        }
    }
}

extension JSONWriter {
    /// Writes `value` as compact JSON: members in their order, numbers as their source text.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .number(let text): raw(text.utf8)
        case .string(let text): string(text)
        case .array(let elements):
            array { json in
                for element in elements { json.value(element) }
            }
        case .object(let object):
            self.object { json in
                for member in object.members {
                    json.key(member.key)
                    json.value(member.value)
                }
            }
        }
    }
}

extension JSONScanner {
    /// Parses `bytes[range]` (the whole buffer by default), which must hold exactly one JSON value,
    /// into a tree. Accepts and refuses exactly what `validate` does, with the same errors; nesting
    /// is limited to `maximumDepth` levels.
    public static func parse(_ bytes: [UInt8], in range: Range<Int>? = nil) throws(JSONScanError) -> JSONValue {
        let range = range ?? 0..<bytes.count
        return try bytes.withUnsafeBufferPointer { buffer throws(JSONScanError) in
            var cursor = Cursor(buffer: buffer, index: range.lowerBound, end: range.upperBound)
            cursor.skipWhitespace()
            let value = try cursor.parseValue(depth: 0)
            cursor.skipWhitespace()
            guard cursor.index == cursor.end else { throw cursor.error("unexpected data after the JSON value") }
            return value
        }
    }

    /// The JSON object in `bytes`, or nil when they do not hold exactly one object.
    public static func parseObject(_ bytes: [UInt8]) -> JSONObject? {
        (try? parse(bytes))?.object
    }
}

extension JSONScanner.Cursor {
    /// The tree form of `scanValue`: the same grammar and checks, in the same order.
    mutating func parseValue(depth: Int) throws(JSONScanError) -> JSONValue {
        guard let byte = peek() else { throw error("unexpected end of JSON") }
        switch byte {
        case UInt8(ascii: "{"):
            return .object(try parseObject(depth: depth + 1))
        case UInt8(ascii: "["):
            return .array(try parseArray(depth: depth + 1))
        case UInt8(ascii: "\""):
            return .string(try scanString(decode: true) ?? "")
        case UInt8(ascii: "t"):
            try scanLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try scanLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try scanLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let start = index
            try scanNumber()
            return .number(String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<index]), as: UTF8.self))
        default:
            throw error("unexpected character")
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONScanError) -> JSONObject {
        guard depth < JSONScanner.maximumDepth else { throw error("JSON nested too deeply") }
        index += 1  // {
        skipWhitespace()
        var members: [JSONObject.Member] = []
        if peek() == UInt8(ascii: "}") {
            index += 1
            return JSONObject(members)
        }
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw error("expected a member name") }
            let key = try scanString(decode: true) ?? ""
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':'")
            skipWhitespace()
            members.append(JSONObject.Member(key: key, value: try parseValue(depth: depth)))
            skipWhitespace()
            guard let next = peek() else { throw error("unexpected end of JSON") }
            index += 1
            if next == UInt8(ascii: "}") { return JSONObject(members) }
            guard next == UInt8(ascii: ",") else {
                index -= 1
                throw error("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONScanError) -> [JSONValue] {
        guard depth < JSONScanner.maximumDepth else { throw error("JSON nested too deeply") }
        index += 1  // [
        skipWhitespace()
        var elements: [JSONValue] = []
        if peek() == UInt8(ascii: "]") {
            index += 1
            return elements
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard let next = peek() else { throw error("unexpected end of JSON") }
            index += 1
            if next == UInt8(ascii: "]") { return elements }
            guard next == UInt8(ascii: ",") else {
                index -= 1
                throw error("expected ',' or ']'")
            }
        }
    }
}

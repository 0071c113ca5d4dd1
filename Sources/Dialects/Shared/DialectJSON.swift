import GatewayCore

/// Small helpers for the translating codecs over `JSONValue` (`JSONScanner.parse`).
enum DialectJSON {
    /// `text` without the white space around it (Unicode white space: models pad arguments).
    static func trimmed(_ text: String) -> Substring {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = text.lastIndex(where: { !$0.isWhitespace }) ?? first
        return text[first...last]
    }

    /// True when `text` is exactly one JSON object.
    static func isObject(_ text: Substring) -> Bool {
        (try? JSONScanner.scanObject(Array(text.utf8))) != nil
    }
}

extension JSONWriter {
    /// A finite number in JSON's shortest form (`0.2`, `1`); nil and non-finite as `null`.
    mutating func field(_ name: String, _ value: Double?) {
        key(name)
        guard let value, value.isFinite else { return null() }
        if value.rounded() == value, abs(value) < 1e15 {
            int(Int(value))
        } else {
            raw(String(value).utf8)
        }
    }

    mutating func field(_ name: String, rawJSON: [UInt8]) {
        key(name)
        raw(rawJSON)
    }

    mutating func stringArray(_ name: String, _ values: [String]) {
        key(name)
        array { json in
            for value in values { json.string(value) }
        }
    }
}

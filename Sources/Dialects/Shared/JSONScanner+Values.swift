import GatewayCore

extension JSONScanner {
    /// The decoded text of the JSON string at `range` (which includes the quotes), or nil if it is
    /// not a string.
    public static func string(_ bytes: [UInt8], at range: Range<Int>) -> String? {
        guard range.count >= 2, bytes[range.lowerBound] == UInt8(ascii: "\"") else { return nil }
        return bytes.withUnsafeBufferPointer { buffer in
            var cursor = Cursor(buffer: buffer, index: range.lowerBound, end: range.upperBound)
            return (try? cursor.scanString(decode: true)) ?? nil
        }
    }

    /// The integer at `range`, or nil if it is not an integer that fits.
    public static func integer(_ bytes: [UInt8], at range: Range<Int>) -> Int? {
        guard !range.isEmpty else { return nil }
        var value = 0
        var index = range.lowerBound
        let negative = bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < range.upperBound else { return nil }
        while index < range.upperBound {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            // Accumulated with the sign applied, so `Int.min` itself fits.
            let digit = Int(byte - UInt8(ascii: "0"))
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) =
                negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            index += 1
        }
        return value
    }

    /// Encodes `text` as a JSON string literal, quotes included.
    public static func quoted(_ text: String) -> [UInt8] {
        var writer = GatewayCore.JSONWriter(capacity: text.utf8.count + 2)
        writer.string(text)
        return writer.bytes
    }
}

import Foundation

/// Foundation's JSON reader, for tests to read what the codecs write through a parser of their
/// own (the codecs read JSON with `JSONScanner.parse`).
enum FoundationJSON {
    static func object(_ bytes: [UInt8]) -> [String: Any]? {
        guard let value = try? JSONSerialization.jsonObject(with: Data(bytes)) else { return nil }
        return value as? [String: Any]
    }

    /// Any JSON value (from `JSONSerialization`) as compact JSON bytes with sorted keys.
    static func bytes(_ value: Any) -> [UInt8] {
        let options: JSONSerialization.WritingOptions = [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: options) else { return [] }
        return Array(data)
    }

    static func int(_ value: Any?) -> Int? {
        guard let number = value as? NSNumber, String(cString: number.objCType) != "c" else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9e15 else { return nil }
        return Int(double)
    }
}

import Foundation
import GatewayCore

/// Small helpers over `JSONSerialization` values for the translating codecs. Translation reads
/// whole bodies anyway, so the Foundation tree is simpler here than `JSONScanner`.
enum DialectJSON {
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

    /// Parses JSON text that must be an object; nil when it is not.
    static func objectText(_ text: String) -> [String: Any]? {
        object(Array(text.utf8))
    }

    static func isBool(_ value: Any?) -> Bool {
        guard let number = value as? NSNumber else { return false }
        return String(cString: number.objCType) == "c"
    }

    static func int(_ value: Any?) -> Int? {
        guard let number = value as? NSNumber, !isBool(value) else { return nil }
        let double = number.doubleValue
        guard double.rounded() == double, abs(double) < 9e15 else { return nil }
        return Int(double)
    }

    static func double(_ value: Any?) -> Double? {
        guard let number = value as? NSNumber, !isBool(value) else { return nil }
        return number.doubleValue
    }

    static func bool(_ value: Any?) -> Bool? {
        isBool(value) ? (value as? NSNumber)?.boolValue : nil
    }

    static func string(_ value: Any?) -> String? {
        value as? String
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

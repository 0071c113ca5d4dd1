import Foundation

/// Parsed-JSON comparison for dialect fixtures: key order and whitespace never matter.
enum JSONComparison {
    /// `bytes` parsed and written back with sorted keys; top-level `ignoring` keys removed.
    static func normalized(_ bytes: [UInt8], ignoring: Set<String> = []) throws -> String {
        var value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        if var object = value as? [String: Any] {
            for key in ignoring { object.removeValue(forKey: key) }
            value = object
        }
        let data = try JSONSerialization.data(
            withJSONObject: value,
            options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]
        )
        return String(decoding: data, as: UTF8.self)
    }

    /// The `data:` payloads of an SSE transcript, each normalized (`[DONE]` kept as is).
    static func events(_ transcript: [UInt8], ignoring: Set<String> = ["id", "created"]) throws -> [String] {
        var framer = SSEFramerForTests()
        return try framer.dataPayloads(transcript).map { data in
            data == Array("[DONE]".utf8) ? "[DONE]" : try normalized(data, ignoring: ignoring)
        }
    }
}

/// Splits an SSE transcript on blank lines and joins each event's `data:` lines.
struct SSEFramerForTests {
    mutating func dataPayloads(_ transcript: [UInt8]) -> [[UInt8]] {
        let text = String(decoding: transcript, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        return text.components(separatedBy: "\n\n").compactMap { block in
            let lines = block.split(separator: "\n").filter { $0.hasPrefix("data:") }
            guard !lines.isEmpty else { return nil }
            let data = lines.map { line in
                var value = line.dropFirst(5)
                if value.first == " " { value = value.dropFirst() }
                return String(value)
            }
            return Array(data.joined(separator: "\n").utf8)
        }
    }
}

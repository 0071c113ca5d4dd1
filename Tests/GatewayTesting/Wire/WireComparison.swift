import Foundation

/// One server-sent event: its `event:` name (nil without one) and its joined `data:` lines.
public struct ServerSentEvent: Sendable, Equatable {
    public var name: String?
    public var data: String

    public init(name: String?, data: String) {
        self.name = name
        self.data = data
    }

    /// The events of an SSE transcript, in order (comments and empty blocks skipped).
    public static func parse(_ transcript: String) -> [ServerSentEvent] {
        transcript.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n\n").compactMap { block in
            var name: String?
            var data: [String] = []
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("event:") { name = line.dropFirst(6).trimmingCharacters(in: .whitespaces) }
                if line.hasPrefix("data:") {
                    var value = line.dropFirst(5)
                    if value.first == " " { value = value.dropFirst() }
                    data.append(String(value))
                }
            }
            guard name != nil || !data.isEmpty else { return nil }
            return ServerSentEvent(name: name, data: data.joined(separator: "\n"))
        }
    }

    public static func parse(_ transcript: [UInt8]) -> [ServerSentEvent] {
        parse(String(decoding: transcript, as: UTF8.self))
    }

    /// The data as a JSON object, nil when it is not one.
    public var json: [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
    }
}

/// Parsed-JSON comparison of wire bodies: key order and whitespace never matter.
public enum WireJSON {
    /// `bytes` parsed and written back with sorted keys, without the top-level `ignoring` keys.
    public static func normalized(_ bytes: [UInt8], ignoring: Set<String> = []) throws -> String {
        var value = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        if var object = value as? [String: Any] {
            for key in ignoring { object.removeValue(forKey: key) }
            value = object
        }
        let data = try JSONSerialization.data(
            withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// `bytes` as a JSON object; throws when it is not one.
    public static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            throw TestFailure("not a JSON object: \(String(decoding: bytes.prefix(500), as: UTF8.self))")
        }
        return object
    }

    public static func normalized(_ text: String, ignoring: Set<String> = []) throws -> String {
        try normalized(Array(text.utf8), ignoring: ignoring)
    }

    /// The events of an SSE transcript as (name, normalized data), `[DONE]` kept as it is.
    public static func events(
        _ transcript: [UInt8], ignoring: Set<String> = ["id", "created"]
    ) throws -> [String] {
        try ServerSentEvent.parse(transcript).map { event in
            let data = event.data == "[DONE]" ? "[DONE]" : try normalized(event.data, ignoring: ignoring)
            return event.name.map { "\($0) \(data)" } ?? data
        }
    }
}

import Yams

/// Walks a composed YAML tree, converting values to typed settings while it collects every
/// problem with its path and line. New sections are a few lines each: `section`, `expectOnly`,
/// and one typed accessor per key.
final class ConfigurationReader {
    private(set) var errors: [ConfigurationError] = []

    func fail(_ path: String, _ node: Node?, _ message: String) {
        errors.append(ConfigurationError(path: path, line: node?.mark?.line, message: message))
    }

    /// The entries of a mapping node, or nil (with an error) when `node` is something else.
    func mapping(_ node: Node, _ path: String) -> [(key: String, node: Node)]? {
        guard case .mapping(let mapping) = node else {
            fail(path, node, "expected a mapping")
            return nil
        }
        var entries: [(key: String, node: Node)] = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string else {
                fail(path, key, "keys must be plain strings")
                continue
            }
            entries.append((name, value))
        }
        return entries
    }

    /// Reports every key of `entries` not in `allowed`.
    func expectOnly(_ entries: [(key: String, node: Node)], _ allowed: [String], _ path: String) {
        for entry in entries where !allowed.contains(entry.key) {
            fail(join(path, entry.key), entry.node, "unknown key (expected one of: \(allowed.joined(separator: ", ")))")
        }
    }

    func sequence(_ node: Node, _ path: String) -> [Node]? {
        guard case .sequence(let sequence) = node else {
            fail(path, node, "expected a list")
            return nil
        }
        return Array(sequence)
    }

    func string(_ node: Node, _ path: String) -> String? {
        guard case .scalar(let scalar) = node else {
            fail(path, node, "expected a string")
            return nil
        }
        return scalar.string
    }

    func nonEmptyString(_ node: Node, _ path: String) -> String? {
        guard let text = string(node, path) else { return nil }
        guard !text.isEmpty else {
            fail(path, node, "must not be empty")
            return nil
        }
        return text
    }

    func bool(_ node: Node, _ path: String) -> Bool? {
        guard let text = node.scalar?.string else {
            fail(path, node, "expected true or false")
            return nil
        }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            fail(path, node, "expected true or false, not \"\(text)\"")
            return nil
        }
    }

    func positiveInt(_ node: Node, _ path: String) -> Int? {
        guard let text = node.scalar?.string, let value = Int(text), value > 0 else {
            fail(path, node, "expected a positive integer")
            return nil
        }
        return value
    }

    func choice<T: RawRepresentable & CaseIterable>(_ node: Node, _ path: String, as type: T.Type) -> T?
    where T.RawValue == String {
        guard let text = string(node, path) else { return nil }
        guard let value = T(rawValue: text) else {
            let valid = T.allCases.map(\.rawValue).joined(separator: ", ")
            fail(path, node, "unknown value \"\(text)\" (expected one of: \(valid))")
            return nil
        }
        return value
    }

    /// `500ms`, `30s`, `5m`, `1h`, `1d`, or a bare number of seconds.
    func duration(_ node: Node, _ path: String) -> Duration? {
        guard let text = node.scalar?.string, let value = Self.parseDuration(text) else {
            fail(path, node, "expected a duration like 500ms, 30s, 5m, 1h or 1d")
            return nil
        }
        return value
    }

    /// `512KiB`, `10MiB`, `1GiB`, `1MB`, `1KB`, or a bare number of bytes.
    func size(_ node: Node, _ path: String) -> Int? {
        guard let text = node.scalar?.string, let value = Self.parseSize(text) else {
            fail(path, node, "expected a size like 512KiB, 10MiB or a number of bytes")
            return nil
        }
        return value
    }

    static func parseDuration(_ text: String) -> Duration? {
        let trimmed = text.trimmingWhitespace()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            // "ms" also ends in "s": only accept a pure number before the suffix.
            guard let value = Double(number), value >= 0, value.isFinite else { continue }
            return .milliseconds(Int64((value * scale * 1000).rounded()))
        }
        if let seconds = Double(trimmed), seconds >= 0, seconds.isFinite {
            return .milliseconds(Int64((seconds * 1000).rounded()))
        }
        return nil
    }

    static func parseSize(_ text: String) -> Int? {
        let trimmed = text.trimmingWhitespace()
        let units: [(String, Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("KB", 1000), ("MB", 1_000_000),
            ("GB", 1_000_000_000),
            ("B", 1),
        ]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            guard let value = Int(trimmed.dropLast(suffix.count).trimmingWhitespace()), value > 0 else { return nil }
            return value * scale
        }
        guard let value = Int(trimmed), value > 0 else { return nil }
        return value
    }

    func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var slice = self[...]
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}

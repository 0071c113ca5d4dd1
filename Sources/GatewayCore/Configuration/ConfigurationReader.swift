import Yams

/// Collects every problem found while one configuration is read.
final class ConfigurationDiagnostics {
    private(set) var errors: [ConfigurationError] = []

    func fail(_ path: String, line: Int?, _ message: String) {
        errors.append(ConfigurationError(path: path, line: line, message: message))
    }
}

/// A node of the YAML tree together with its path (`models[1].targets[0]`). Typed reads convert a
/// key's value or record a problem with the value's path and line, and go on: a reader never stops
/// at the first error. A new section is a few lines:
///
///     reader.section("retry") { retry in
///         retry.expectOnly(["attempts", "backoff"])
///         configuration.retry.attempts = retry.int("attempts", in: 1...10) ?? configuration.retry.attempts
///         configuration.retry.backoff = retry.duration("backoff") ?? configuration.retry.backoff
///     }
///
/// Reads of an absent key return nil without an error; `require` reports missing keys.
struct ConfigReader {
    let node: Node
    let path: String
    let diagnostics: ConfigurationDiagnostics

    var line: Int? { node.mark?.line }

    /// Records a problem at this node.
    func fail(_ message: String) {
        diagnostics.fail(path, line: line, message)
    }

    func childPath(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    // MARK: Mappings

    /// `key: ~` or `key:` with nothing after it reads as an empty section.
    private var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// The value of `key` in this mapping, or nil when absent.
    func child(_ key: String) -> ConfigReader? {
        node.mapping?[key].map { ConfigReader(node: $0, path: childPath(key), diagnostics: diagnostics) }
    }

    func has(_ key: String) -> Bool { node.mapping?[key] != nil }

    /// The entries of this mapping in file order; keys renamed by the duplicate-key pass are left out
    /// (they are reported once, by `ConfigurationDuplicateKeys`).
    var entries: [(key: String, keyNode: Node, value: ConfigReader)] {
        guard let mapping = node.mapping else { return [] }
        return mapping.compactMap { key, value in
            guard let name = key.scalar?.string, !ConfigurationDuplicateKeys.isPlaceholder(name) else { return nil }
            return (name, key, ConfigReader(node: value, path: childPath(name), diagnostics: diagnostics))
        }
    }

    /// Reports every key that is not in `allowed` (and every key that is not a plain string).
    func expectOnly(_ allowed: [String]) {
        guard let mapping = node.mapping else { return }
        for (key, _) in mapping {
            guard let name = key.scalar?.string else {
                diagnostics.fail(path, line: key.mark?.line, "keys must be plain strings")
                continue
            }
            guard !allowed.contains(name), !ConfigurationDuplicateKeys.isPlaceholder(name) else { continue }
            let expected = allowed.joined(separator: ", ")
            diagnostics.fail(childPath(name), line: key.mark?.line, "unknown key (expected one of: \(expected))")
        }
    }

    /// Reports each of `keys` that this mapping lacks, as `path.key: required`.
    func require(_ keys: String..., hint: String? = nil) {
        for key in keys where !has(key) {
            diagnostics.fail(childPath(key), line: line, hint.map { "required (\($0))" } ?? "required")
        }
    }

    /// Runs `body` with this node when it is a mapping (or empty); reports anything else.
    func mapping(_ body: (ConfigReader) -> Void) {
        if node.mapping != nil {
            body(self)
        } else if isNull {
            body(
                ConfigReader(
                    node: Node.mapping(.init([], .implicit, .any, node.mark)), path: path, diagnostics: diagnostics))
        } else {
            fail("expected a mapping")
        }
    }

    /// Runs `body` with the mapping under `key`, if the key is present.
    func section(_ key: String, _ body: (ConfigReader) -> Void) {
        child(key)?.mapping(body)
    }

    /// Runs `body` for each item of the list under `key` (paths `key[0]`, `key[1]`, …); returns the
    /// item count, or nil when the key is absent or not a list.
    @discardableResult
    func list(_ key: String, _ body: (Int, ConfigReader) -> Void) -> Int? {
        guard let value = child(key) else { return nil }
        guard let items = value.node.sequence else {
            value.fail("expected a list")
            return nil
        }
        for (index, item) in items.enumerated() {
            body(index, ConfigReader(node: item, path: "\(value.path)[\(index)]", diagnostics: diagnostics))
        }
        return items.count
    }

    // MARK: Scalars

    /// The text of this scalar as written (`0660` stays `0660`), or nil with an error.
    func scalarText(expected: String) -> String? {
        guard case .scalar(let scalar) = node else {
            fail("expected \(expected)")
            return nil
        }
        return scalar.string
    }

    /// A non-empty string. The value is never echoed in errors (it may be a secret).
    func string(_ key: String) -> String? {
        guard let value = child(key), let text = value.scalarText(expected: "a string") else { return nil }
        guard !text.isEmpty else {
            value.fail("must not be empty")
            return nil
        }
        return text
    }

    func bool(_ key: String) -> Bool? {
        value(key, expected: "true or false") { text in
            switch text {
            case "true", "True", "TRUE", "yes", "on": true
            case "false", "False", "FALSE", "no", "off": false
            default: nil
            }
        }
    }

    func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
        value(key, expected: "an integer from \(range.lowerBound) to \(range.upperBound)") { text in
            Int(text).flatMap { range.contains($0) ? $0 : nil }
        }
    }

    func duration(_ key: String) -> Duration? {
        bounded(key, expected: "a duration like 500ms, 30s, 5m, 1h or 1d", ConfigurationValue.duration) { text in
            ConfigurationValue.exceedsMaximumDuration(text) ? "must be at most 3650d" : nil
        }
    }

    /// A file mode in octal (`"0600"`, `"0660"`): the owner may read and write, nothing may
    /// execute.
    func fileMode(_ key: String) -> Int? {
        value(key, expected: "an octal file mode like \"0600\" or \"0660\" (owner rw, no execute bits)") { text in
            let digits = text.hasPrefix("0o") ? text.dropFirst(2) : Substring(text)
            guard (3...4).contains(digits.count), let mode = Int(digits, radix: 8), mode <= 0o777,
                mode & 0o600 == 0o600, mode & 0o111 == 0
            else { return nil }
            return mode
        }
    }

    func size(_ key: String) -> Int? {
        bounded(key, expected: "a size like 512KiB, 10MiB, 1MB or a number of bytes", ConfigurationValue.size) { text in
            ConfigurationValue.exceedsMaximumSize(text) ? "must be at most 1TiB" : nil
        }
    }

    /// One of an enumeration's raw values; the error lists them all.
    func choice<T: RawRepresentable & CaseIterable>(_ key: String, as type: T.Type) -> T?
    where T.RawValue == String {
        let valid = T.allCases.map(\.rawValue).joined(separator: ", ")
        guard let value = child(key), let text = value.scalarText(expected: "one of: \(valid)") else { return nil }
        guard let choice = T(rawValue: text) else {
            value.fail("unknown value \"\(text)\" (expected one of: \(valid))")
            return nil
        }
        return choice
    }

    /// Like `value`, but when `parse` fails, `tooLarge` may give a more precise message for a
    /// value that is well formed but out of bounds.
    func bounded<T>(
        _ key: String, expected: String, _ parse: (String) -> T?, tooLarge: (String) -> String?
    ) -> T? {
        guard let value = child(key), let text = value.scalarText(expected: expected) else { return nil }
        guard let parsed = parse(text) else {
            value.fail(tooLarge(text) ?? "expected \(expected)")
            return nil
        }
        return parsed
    }

    /// A scalar converted by `parse`; `expected` completes the message `expected …` on failure.
    func value<T>(_ key: String, expected: String, _ parse: (String) -> T?) -> T? {
        guard let value = child(key), let text = value.scalarText(expected: expected) else { return nil }
        guard let parsed = parse(text) else {
            value.fail("expected \(expected)")
            return nil
        }
        return parsed
    }
}

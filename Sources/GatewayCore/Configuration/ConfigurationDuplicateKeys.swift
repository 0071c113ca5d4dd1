import Yams

/// Yams stops composing at the first duplicated mapping key and names only the first occurrence.
/// To report every duplicate with its path and line, and every other problem of the same file, the
/// later occurrence is renamed in the text to a placeholder and the text composed again; the reader
/// skips placeholders and `report` names them.
enum ConfigurationDuplicateKeys {
    struct Duplicate {
        var key: String
        var firstLine: Int
    }

    private static let prefix = "__llmgw_duplicate_"

    static func isPlaceholder(_ key: String) -> Bool { key.hasPrefix(prefix) }

    /// Composes `yaml`, renaming duplicated keys; rethrows Yams' error when the duplicate cannot be
    /// found in the text (then it is reported without a path).
    static func compose(_ yaml: String) throws -> (root: Node?, duplicates: [String: Duplicate]) {
        var lines = yaml.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0.unicodeScalars) }
        var text = yaml
        var duplicates: [String: Duplicate] = [:]
        while true {
            do {
                return (try Yams.compose(yaml: text), duplicates)
            } catch YamlError.duplicatedKeysInMapping(let keys, let context) {
                let first = (line: context.mark.line, column: context.mark.column)
                guard duplicates.count < 100, let key = keys.first,
                    let raw = rawKey(in: lines, at: first),
                    let later = laterOccurrence(of: spellings(of: key, raw), in: lines, after: first)
                else { throw YamlError.duplicatedKeysInMapping(duplicates: keys, context: context) }
                let placeholder = "\(prefix)\(duplicates.count)__"
                duplicates[placeholder] = Duplicate(key: key, firstLine: first.line)
                lines[later.line - 1].replaceSubrange(
                    (later.column - 1)..<(later.column - 1 + later.length), with: placeholder.unicodeScalars)
                text = lines.map { String(String.UnicodeScalarView($0)) }.joined(separator: "\n")
            }
        }
    }

    /// Reports each renamed key found in the tree with its path and line.
    static func report(_ root: Node, _ duplicates: [String: Duplicate], into diagnostics: ConfigurationDiagnostics) {
        guard !duplicates.isEmpty else { return }
        func visit(_ node: Node, _ path: String) {
            switch node {
            case .mapping(let mapping):
                for (key, value) in mapping {
                    let name = key.scalar?.string ?? "?"
                    if let duplicate = duplicates[name] {
                        let keyPath = path.isEmpty ? duplicate.key : "\(path).\(duplicate.key)"
                        diagnostics.fail(
                            keyPath, line: key.mark?.line, "duplicate key (first at line \(duplicate.firstLine))")
                    } else {
                        visit(value, path.isEmpty ? name : "\(path).\(name)")
                    }
                }
            case .sequence(let sequence):
                for (index, item) in sequence.enumerated() { visit(item, "\(path)[\(index)]") }
            case .scalar, .alias:
                break
            }
        }
        visit(root, "")
    }

    /// The key as written at `position` (1-based), quotes included.
    private static func rawKey(in lines: [[Unicode.Scalar]], at position: (line: Int, column: Int)) -> [Unicode.Scalar]?
    {
        guard lines.indices.contains(position.line - 1) else { return nil }
        let line = lines[position.line - 1]
        let start = position.column - 1
        guard line.indices.contains(start) else { return nil }
        let quote = line[start]
        if quote == "\"" || quote == "'" {
            guard let close = line[(start + 1)...].firstIndex(of: quote) else { return nil }
            return Array(line[start...close])
        }
        let end = line[start...].firstIndex { $0 == ":" || $0 == "," || $0 == "}" } ?? line.endIndex
        var raw = Array(line[start..<end])
        while let last = raw.last, last == " " || last == "\t" { raw.removeLast() }
        return raw.isEmpty ? nil : raw
    }

    /// How the key may be written: as at its first occurrence, plain, or quoted.
    private static func spellings(of key: String, _ raw: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        [raw, Array(key.unicodeScalars), Array("\"\(key)\"".unicodeScalars), Array("'\(key)'".unicodeScalars)]
    }

    /// The next occurrence of one of `spellings` used as a key of the same mapping: later on the same line (flow
    /// style) or at the same column on a later line (block style), before the mapping is dedented.
    private static func laterOccurrence(
        of spellings: [[Unicode.Scalar]], in lines: [[Unicode.Scalar]], after first: (line: Int, column: Int)
    ) -> (line: Int, column: Int, length: Int)? {
        let column = first.column - 1
        let sameLine = lines[first.line - 1]
        var index = column + spellings[0].count
        while index < sameLine.count {
            if let raw = spellings.first(where: { isKey($0, in: sameLine, at: index) }) {
                return (first.line, index + 1, raw.count)
            }
            index += 1
        }
        for lineIndex in first.line..<lines.count {
            let line = lines[lineIndex]
            guard let content = line.firstIndex(where: { $0 != " " && $0 != "\t" }), line[content] != "#" else {
                continue
            }
            if content < column { return nil }
            if let raw = spellings.first(where: { isKey($0, in: line, at: column) }) {
                return (lineIndex + 1, column + 1, raw.count)
            }
        }
        return nil
    }

    private static func isKey(_ raw: [Unicode.Scalar], in line: [Unicode.Scalar], at index: Int) -> Bool {
        guard index + raw.count <= line.count, Array(line[index..<(index + raw.count)]) == raw else { return false }
        if index > 0 && !" \t{,-?".unicodeScalars.contains(line[index - 1]) { return false }
        var after = index + raw.count
        while after < line.count && (line[after] == " " || line[after] == "\t") { after += 1 }
        return after < line.count && line[after] == ":"
    }
}

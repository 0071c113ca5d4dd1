import Yams

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension GatewayConfiguration {
    /// Reads and validates the YAML file at `path`; errors name the file, each problem's path and
    /// line, and every problem found (not only the first).
    public static func load(contentsOf path: String) throws(ConfigurationErrors) -> GatewayConfiguration {
        guard let text = readTextFile(path) else {
            throw ConfigurationErrors(
                source: path,
                errors: [ConfigurationError(path: "", line: nil, message: "cannot read the file")]
            )
        }
        return try parse(yaml: text, source: path)
    }

    /// Parses and validates YAML text; `source` names it in error messages (usually the file path).
    public static func parse(yaml: String, source: String) throws(ConfigurationErrors) -> GatewayConfiguration {
        let composed: (root: Node?, duplicates: [String: ConfigurationDuplicateKeys.Duplicate])
        do {
            composed = try ConfigurationDuplicateKeys.compose(yaml)
        } catch {
            throw ConfigurationErrors(source: source, errors: [yamlError(error)])
        }
        guard let root = composed.root else {
            throw ConfigurationErrors(
                source: source,
                errors: [ConfigurationError(path: "", line: nil, message: "the file is empty")]
            )
        }
        let diagnostics = ConfigurationDiagnostics()
        ConfigurationDuplicateKeys.report(root, composed.duplicates, into: diagnostics)
        let configuration = ConfigurationLoader.configuration(
            ConfigReader(node: root, path: "", diagnostics: diagnostics))
        guard diagnostics.errors.isEmpty else {
            // In file order; problems without a line (none today) go last.
            let errors = diagnostics.errors.enumerated().sorted { left, right in
                let (leftLine, rightLine) = (left.element.line ?? Int.max, right.element.line ?? Int.max)
                return leftLine != rightLine ? leftLine < rightLine : left.offset < right.offset
            }
            throw ConfigurationErrors(source: source, errors: errors.map(\.element))
        }
        return configuration
    }

    private static func yamlError(_ error: any Error) -> ConfigurationError {
        switch error as? YamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { " \($0.text)" } ?? ""
            return ConfigurationError(path: "", line: mark.line, message: "invalid YAML: \(problem)\(detail)")
        case .duplicatedKeysInMapping(let keys, let context):
            let names = keys.map { "\"\($0)\"" }.joined(separator: ", ")
            return ConfigurationError(path: "", line: context.mark.line, message: "duplicate key \(names)")
        default:
            return ConfigurationError(path: "", line: nil, message: "invalid YAML")
        }
    }
}

/// Reads a whole text file without Foundation; nil when it cannot be read.
func readTextFile(_ path: String) -> String? {
    guard let file = fopen(path, "rb") else { return nil }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count > 0 { bytes.append(contentsOf: buffer[..<count]) }
        if count < buffer.count {
            if ferror(file) != 0 { return nil }
            break
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

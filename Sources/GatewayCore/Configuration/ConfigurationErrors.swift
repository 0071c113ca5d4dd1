/// One problem in a configuration file, with the path of the offending value
/// (`models[1].targets[0].provider`) and its line when known.
public struct ConfigurationError: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String

    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Every problem found in a configuration file; rendered one per line as
/// `FILE:LINE: PATH: MESSAGE`.
public struct ConfigurationErrors: Error, Sendable, CustomStringConvertible {
    public var source: String
    public var errors: [ConfigurationError]

    public init(source: String, errors: [ConfigurationError]) {
        self.source = source
        self.errors = errors
    }

    public var description: String {
        errors.map { error in
            let location = error.line.map { "\(source):\($0)" } ?? source
            return "\(location): \(error)"
        }.joined(separator: "\n")
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A resolved secret (a provider key). Printing, interpolating, dumping or mirroring it shows
/// `<redacted>`; the value is reachable only through `revealed`, which is used to build upstream
/// request headers and nowhere else.
public struct ResolvedSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public let revealed: String

    public init(_ value: String) {
        self.revealed = value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Resolves `SecretReference`s: `env:NAME` (set and non-empty), `file:PATH` (readable and non-empty;
/// surrounding whitespace and the trailing newline are trimmed), or a literal. Errors name the
/// config path and the variable or file, never the value.
public struct SecretResolver: Sendable {
    let environment: @Sendable (String) -> String?
    let readFile: @Sendable (String) -> String?

    /// Reads the process environment (as `ProcessInfo.processInfo.environment` would) and the file
    /// system, unless told otherwise.
    public init(
        environment: @escaping @Sendable (String) -> String? = { name in getenv(name).map { String(cString: $0) } },
        readFile: (@Sendable (String) -> String?)? = nil
    ) {
        self.environment = environment
        self.readFile = readFile ?? { readTextFile($0) }
    }

    /// Resolves against a fixed environment (tests, `llmgw check` with an env file).
    public init(environment: [String: String], readFile: (@Sendable (String) -> String?)? = nil) {
        self.init(environment: { environment[$0] }, readFile: readFile)
    }

    /// `path` names the reference in errors, e.g. `providers.openai.api_key`.
    public func resolve(_ reference: SecretReference, path: String) throws(ConfigurationError) -> ResolvedSecret {
        switch reference {
        case .environment(let name):
            guard let value = environment(name), !value.isEmpty else {
                throw ConfigurationError(path: path, line: nil, message: "environment variable \(name) is not set")
            }
            return ResolvedSecret(value)
        case .file(let file):
            guard let text = readFile(file) else {
                throw ConfigurationError(path: path, line: nil, message: "cannot read key file \(file)")
            }
            let value = text.trimmingWhitespace()
            guard !value.isEmpty else {
                throw ConfigurationError(path: path, line: nil, message: "key file \(file) is empty")
            }
            return ResolvedSecret(value)
        case .literal(let value):
            guard !value.isEmpty else {
                throw ConfigurationError(path: path, line: nil, message: "the key is empty")
            }
            return ResolvedSecret(value)
        }
    }

    /// Resolves every provider's key at once (at start, on SIGHUP, by `llmgw check`), collecting
    /// every failure. Providers without `api_key` are absent from the result. `source` names the
    /// configuration in the rendered errors.
    public func resolveKeys(
        of configuration: GatewayConfiguration, source: String = "provider keys"
    ) throws(ConfigurationErrors) -> [String: ResolvedSecret] {
        var keys: [String: ResolvedSecret] = [:]
        var errors: [ConfigurationError] = []
        for provider in configuration.providers {
            if provider.kind == .bedrock, provider.apiKey == nil, let aws = provider.aws {
                do {
                    let credentials = try resolveAWSCredentials(aws, path: "providers.\(provider.name)")
                    keys.merge(credentials.keyringEntries(provider: provider.name)) { new, _ in new }
                } catch {
                    errors.append(error)
                }
            }
            guard let reference = provider.apiKey else { continue }
            do {
                // A Vertex provider's secret may sit under `credentials_file` or `access_token`.
                let key = provider.vertex?.credentials.configKey ?? "api_key"
                keys[provider.name] = try resolve(reference, path: "providers.\(provider.name).\(key)")
            } catch {
                errors.append(error)
            }
        }
        guard errors.isEmpty else { throw ConfigurationErrors(source: source, errors: errors) }
        return keys
    }
}

extension ConfigurationError: Error {}

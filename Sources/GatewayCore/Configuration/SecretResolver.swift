#if canImport(Glibc)
    import Glibc
#endif

/// A resolved secret (a provider key). Printing it shows `<redacted>`; the value is reachable
/// only through `revealed`, which is used to build upstream request headers and nowhere else.
public struct ResolvedSecret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    public let revealed: String

    public init(_ value: String) {
        self.revealed = value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

/// Resolves `SecretReference`s: `env:NAME`, `file:PATH`, literal. Errors name the reference's
/// source, never the value.
public struct SecretResolver: Sendable {
    private let environment: @Sendable (String) -> String?
    private let readFile: @Sendable (String) -> String?

    public init(
        environment: @escaping @Sendable (String) -> String? = { name in getenv(name).map { String(cString: $0) } },
        readFile: (@Sendable (String) -> String?)? = nil
    ) {
        self.environment = environment
        self.readFile = readFile ?? { readTextFile($0) }
    }

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
            return ResolvedSecret(value)
        }
    }

    /// Resolves every provider's key; collects every failure. Providers without `api_key` are
    /// absent from the result.
    public func resolveKeys(of configuration: GatewayConfiguration) throws(ConfigurationErrors) -> [String:
        ResolvedSecret]
    {
        var keys: [String: ResolvedSecret] = [:]
        var errors: [ConfigurationError] = []
        for provider in configuration.providers {
            guard let reference = provider.apiKey else { continue }
            do {
                keys[provider.name] = try resolve(reference, path: "providers.\(provider.name).api_key")
            } catch {
                errors.append(error)
            }
        }
        guard errors.isEmpty else { throw ConfigurationErrors(source: "provider keys", errors: errors) }
        return keys
    }
}

extension ConfigurationError: Error {}

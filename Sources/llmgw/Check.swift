import ArgumentParser
import GatewayCore
import Pipeline

/// `llmgw check --config FILE`: validates the configuration and the provider keys it names;
/// prints every problem with its path and line, exit 1, or exits 0.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate a configuration file.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let path = try options.path()
        do {
            let configuration = try GatewayConfiguration.load(contentsOf: path)
            let keys = try SecretResolver().resolveKeys(of: configuration)
            try VertexCredentialCheck.validate(configuration, keys: keys.mapValues(\.revealed))
            for warning in Self.warnings(configuration) { printToStandardError("\(path): warning: \(warning)") }
            for warning in await BudgetCheck.warnings(configuration) {
                printToStandardError("\(path): warning: \(warning)")
            }
            print("\(path): ok (\(configuration.providers.count) providers, \(configuration.models.count) models)")
        } catch {
            printToStandardError(String(describing: error))
            throw ExitCode(1)
        }
    }
}

extension Check {
    /// Problems that do not stop the gateway: a provider key sent in cleartext (`http://`) to a host
    /// that is not this one, where anything on the path (or a proxy) can read it.
    static func warnings(_ configuration: GatewayConfiguration) -> [String] {
        configuration.providers.compactMap { provider in
            guard provider.apiKey != nil, provider.unixSocket == nil,
                provider.baseURL.lowercased().hasPrefix("http://"),
                let host = ConfigurationValue.host(ofURL: provider.baseURL), !ConfigurationValue.isLoopback(host)
            else { return nil }
            return "providers.\(provider.name): api_key is sent over plain http:// to \(host); use https://"
        }
    }
}

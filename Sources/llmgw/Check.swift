import ArgumentParser
import GatewayCore

/// `llmgw check --config FILE`: validates the configuration and the provider keys it names;
/// prints every problem with its path and line, exit 1, or exits 0.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate a configuration file.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let path = try options.path()
        do {
            let configuration = try GatewayConfiguration.load(contentsOf: path)
            _ = try SecretResolver().resolveKeys(of: configuration)
            for warning in await BudgetCheck.warnings(configuration) { printToStandardError("warning: \(warning)") }
            print("\(path): ok (\(configuration.providers.count) providers, \(configuration.models.count) models)")
        } catch {
            printToStandardError(String(describing: error))
            throw ExitCode(1)
        }
    }
}

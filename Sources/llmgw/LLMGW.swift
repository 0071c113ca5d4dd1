import ArgumentParser
import GatewayCore

@main
struct LLMGW: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llmgw",
        abstract: "A per-host LLM gateway sidecar: OpenAI and Anthropic APIs on a Unix socket.",
        version: "llmgw \(LLMGWVersion.current)",
        subcommands: [
            Serve.self, Reload.self, Check.self, Keys.self, Teams.self, Usage.self, Status.self, Tail.self,
            Version.self, Debug.self,
        ]
    )

    /// The first thing the process does: a SIGHUP (reload) that arrives while `serve` is still
    /// starting must not kill it.
    static func main() async {
        ProcessHardening.ignoreSignalsUntilHandled()
        ProcessHardening.flushLogAtExit()
        await main(nil)
    }
}

/// `--config FILE`, falling back to the LLMGW_CONFIG environment variable.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "Path of the YAML configuration (default: $LLMGW_CONFIG).")
    var config: String?

    func path() throws -> String {
        if let config { return config }
        if let fromEnvironment = ProcessEnvironment.value("LLMGW_CONFIG"), !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        throw ValidationError("no configuration given: pass --config FILE or set LLMGW_CONFIG")
    }
}

/// `llmgw version`: the same line as `llmgw --version`.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the version.")

    func run() { print("llmgw \(LLMGWVersion.current)") }
}

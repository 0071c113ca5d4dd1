import ArgumentParser
import GatewayCore

/// `llmgw status --config FILE [--state DIR] [--json]`: what the shared state says about the
/// host — its files, the sidecars alive and stale, every circuit, today's spend and tokens per
/// key and team, and what is left of each budget (`StatusReport`, printed by
/// `StatusReportFormatter`). Read transactions only, on environments opened read-only: it works
/// beside running sidecars and never waits for a writer. Never prints a secret (key ids and
/// names only). Exits 1 when the state is missing or cannot be read.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the shared state: sidecars, circuits, spend.")

    @OptionGroup var options: ConfigOption
    @Option(
        help: ArgumentHelp(
            "The state directory (default: the configuration's state.path).",
            discussion: "Without --config (and LLMGW_CONFIG), the state's own defaults apply and only circuits "
                + "that ever failed are listed.",
            valueName: "dir"))
    var state: String?
    @Flag(help: "One JSON document instead of text.") var json = false

    func run() async throws {
        var configuration: GatewayConfiguration
        if let state, options.config == nil, ProcessEnvironment.value("LLMGW_CONFIG")?.isEmpty ?? true {
            configuration = GatewayConfiguration()
            configuration.state.path = state
        } else {
            configuration = try loadConfiguration(options)
            if let state { configuration.state.path = state }
        }
        let report: StatusReport
        do {
            let layout = try SharedStateFactory.readOnlyLayout(configuration)
            report = try await StatusReport.read(layout, configuration: configuration, nowMillis: CLIClock.nowMillis())
        } catch {
            printToStandardError("llmgw status: cannot read the shared state at \(configuration.state.path): \(error)")
            throw ExitCode(1)
        }
        let formatter = StatusReportFormatter(report: report)
        print(json ? formatter.json() : formatter.text())
    }
}

import GatewayCore
import Logging
import Pipeline
import ServiceLifecycle
import UnixSignals

/// Re-reads the config file and the provider keys on SIGHUP (`llmgw reload`, `systemctl reload`).
/// A file that does not load, or a key that does not resolve, is rejected with its errors logged
/// and the running configuration keeps serving. A good one is served from the next request on;
/// requests and streams under way finish on the configuration they started with.
struct ConfigReloader: Service {
    let configPath: String
    let pipeline: RequestPipeline
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            reload()
        }
    }

    func reload() {
        let loaded: GatewayConfiguration
        let keys: [String: String]
        do {
            (loaded, keys) = try GatewayConfiguration.loadResolvingKeys(configPath)
        } catch {
            logger.error(
                "reload rejected; the running configuration keeps serving",
                metadata: ["config": "\(configPath)", "errors": "\(error)"])
            return
        }
        let plan = ReloadPlan(running: pipeline.configuration, loaded: loaded)
        pipeline.reload(plan.effective, keyring: ProviderKeyring(keys))
        var metadata: Logger.Metadata = [
            "config": "\(configPath)", "models": "\(plan.effective.models.count)",
            "provider_keys": "\(keys.count)",
            "env": "env: keys are read from the environment the process started with",
        ]
        func list(_ names: [String]) -> Logger.MetadataValue { .array(names.map { .string($0) }) }
        if !plan.addedModels.isEmpty { metadata["models_added"] = list(plan.addedModels) }
        if !plan.removedModels.isEmpty { metadata["models_removed"] = list(plan.removedModels) }
        if !plan.changedModels.isEmpty { metadata["models_changed"] = list(plan.changedModels) }
        if !plan.changedProviders.isEmpty { metadata["providers_changed"] = list(plan.changedProviders) }
        if !plan.restartRequired.isEmpty {
            metadata["restart_required"] = list(plan.restartRequired)
            logger.warning(
                "configuration reloaded; some changes need a restart and were not applied", metadata: metadata)
        } else {
            logger.info("configuration reloaded", metadata: metadata)
        }
    }
}

extension GatewayConfiguration {
    /// The file at `path` and every provider key it names, resolved: at start and on each reload.
    static func loadResolvingKeys(_ path: String) throws -> (GatewayConfiguration, keys: [String: String]) {
        let configuration = try GatewayConfiguration.load(contentsOf: path)
        let keys = try SecretResolver().resolveKeys(of: configuration).mapValues(\.revealed)
        try VertexCredentialCheck.validate(configuration, keys: keys)
        return (configuration, keys)
    }
}

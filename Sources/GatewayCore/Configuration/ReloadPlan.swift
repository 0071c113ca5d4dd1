/// What a reload (SIGHUP, `llmgw reload`) does with a newly loaded configuration: the parts a
/// running process can change take effect for the next request; the parts bound at start — the
/// listener, the shared state (LMDB and `shared:`), the log, the metrics registry, the cache's size cap and what a
/// store error means — keep their running values and are named in `restartRequired`.
public struct ReloadPlan: Sendable, Equatable {
    /// The configuration to serve: `loaded`, with every restart-only setting taken from `running`.
    public let effective: GatewayConfiguration
    /// Model names in `loaded` and not in `running`, in file order.
    public let addedModels: [String]
    /// Model names in `running` and not in `loaded`: requests for them answer 404 from now on.
    public let removedModels: [String]
    /// Models in both whose settings changed (targets, limits, cache, ...).
    public let changedModels: [String]
    /// Providers whose settings changed, were added or were removed.
    public let changedProviders: [String]
    /// Config keys that changed but need a restart to apply (`listen`, `state`, `log`, `metrics`, `admin`,
    /// `cache.max_bytes`, `responses.max_bytes`, `limits.on_store_error`).
    public let restartRequired: [String]

    public init(running: GatewayConfiguration, loaded: GatewayConfiguration) {
        var effective = loaded
        var restartRequired: [String] = []
        func keep<Value: Equatable>(_ key: String, _ path: WritableKeyPath<GatewayConfiguration, Value>) {
            guard running[keyPath: path] != loaded[keyPath: path] else { return }
            restartRequired.append(key)
            effective[keyPath: path] = running[keyPath: path]
        }
        keep("listen", \.listen)
        keep("state", \.state)
        keep("log", \.log)
        keep("metrics", \.metrics)
        keep("admin", \.admin)
        keep("cache.max_bytes", \.cache.maxBytes)
        keep("responses.max_bytes", \.responses.maxBytes)
        keep("limits.on_store_error", \.limits.onStoreError)
        keep("shared", \.shared)
        self.effective = effective
        self.restartRequired = restartRequired

        let runningModels = Dictionary(running.models.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let loadedNames = Set(loaded.models.map(\.name))
        addedModels = loaded.models.map(\.name).filter { runningModels[$0] == nil }
        removedModels = running.models.map(\.name).filter { !loadedNames.contains($0) }
        changedModels = loaded.models.compactMap { model in
            guard let old = runningModels[model.name], old != model else { return nil }
            return model.name
        }
        let runningProviders = Dictionary(
            running.providers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let loadedProviders = Set(loaded.providers.map(\.name))
        changedProviders =
            loaded.providers.filter { runningProviders[$0.name] != $0 }.map(\.name)
            + running.providers.map(\.name).filter { !loadedProviders.contains($0) }
    }
}

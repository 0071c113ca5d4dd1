extension ConfigurationLoader {
    /// The keys only a `kind: classifier` guardrail takes.
    static let classifierKeys = ["model", "api", "timeout", "categories", "cache_ttl"]

    /// The `kind: classifier` keys of one `guardrails:` entry (refused on other kinds). A
    /// classifier finds no span to mask: its action is `reject` (the default) or `log`.
    static func classifier(_ entry: ConfigReader, into guardrail: inout GuardrailConfiguration) {
        guard guardrail.kind == .classifier else {
            for key in classifierKeys where entry.has(key) {
                entry.child(key)?.fail("only a kind: classifier guardrail takes \(key)")
            }
            return
        }
        entry.require("model", hint: "the llmgw model that classifies")
        if !entry.has("action") {
            guardrail.action = .reject
        } else if guardrail.action == .mask {
            entry.child("action")?.fail(
                "a kind: classifier guardrail finds no span to mask: its action is reject or log")
        }
        var settings = ClassifierConfiguration()
        settings.model = entry.string("model") ?? ""
        settings.api = entry.choice("api", as: ClassifierConfiguration.API.self) ?? settings.api
        if let timeout = entry.duration("timeout") {
            if timeout <= .zero || timeout > ClassifierConfiguration.maximumTimeout {
                entry.child("timeout")?.fail("must be above 0 and at most 30s")
            } else {
                settings.timeout = timeout
            }
        }
        settings.cacheTTL = entry.duration("cache_ttl") ?? settings.cacheTTL
        _ = entry.list("categories") { _, item in
            guard let text = item.scalarText(expected: "a category"), !text.isEmpty else { return }
            let category = settings.api == .chat ? text.uppercased() : text.lowercased()
            if settings.api == .chat && !ClassifierConfiguration.isLlamaGuardCode(category) {
                item.fail("expected a Llama Guard category code like S1 or S14 (api: chat)")
            } else if !settings.categories.contains(category) {
                settings.categories.append(category)
            }
        }
        guardrail.classifier = settings
    }

    /// Once the models are known: each classifier's `model` names one of them; that model does
    /// not itself apply a classifier guardrail (a classifier would classify its own prompt, and so
    /// on); with `api: moderation` every target of it is OpenAI-compatible (`/v1/moderations`).
    static func validateClassifierGuardrails(_ root: ConfigReader, _ configuration: GatewayConfiguration) {
        let classifiers = configuration.guardrails.filter { $0.kind == .classifier }
        guard !classifiers.isEmpty, let items = root.child("guardrails")?.node.sequence else { return }
        let path = root.childPath("guardrails")
        let kinds = Dictionary(configuration.guardrails.map { ($0.name, $0.kind) }, uniquingKeysWith: { a, _ in a })
        for guardrail in classifiers {
            guard
                let index = items.firstIndex(where: {
                    $0.mapping?["name"]?.string == guardrail.name && $0.mapping?["kind"]?.string == "classifier"
                }), let modelNode = items[index].mapping?["model"]
            else { continue }
            let reader = ConfigReader(
                node: modelNode, path: "\(path)[\(index)].model", diagnostics: root.diagnostics)
            let name = guardrail.classifier.model
            guard let model = configuration.models.first(where: { $0.name == name }) else {
                reader.fail("unknown model \"\(name)\" (it must be one of the models)")
                continue
            }
            if let nested = model.guardrails.first(where: { kinds[$0] == .classifier }) {
                reader.fail(
                    "the classifier model \"\(name)\" itself applies the classifier guardrail \"\(nested)\" "
                        + "(a classifier's model may not apply classifier guardrails)")
            }
            if guardrail.classifier.api == .moderation {
                for target in model.targets {
                    guard let provider = configuration.providers.first(where: { $0.name == target.provider }),
                        provider.kind != .openai
                    else { continue }
                    reader.fail(
                        "api: moderation needs OpenAI-compatible targets (/v1/moderations), but model \"\(name)\" "
                            + "goes to provider \"\(provider.name)\" (kind \(provider.kind.rawValue))")
                }
            }
        }
    }
}

extension ConfigurationLoader {
    /// `providers`: name -> provider, in file order. A provider with errors is left out of the
    /// result but its name still counts as declared, so targets naming it get no second error.
    static func providers(_ root: ConfigReader) -> [ProviderConfiguration] {
        var providers: [ProviderConfiguration] = []
        root.section("providers") { section in
            for (name, keyNode, value) in section.entries {
                guard ConfigurationValue.isProviderName(name) else {
                    section.diagnostics.fail(
                        value.path, line: keyNode.mark?.line,
                        "invalid provider name (letters, digits, '_', '.' and '-' only)")
                    continue
                }
                value.mapping { reader in
                    if let provider = provider(named: name, reader) { providers.append(provider) }
                }
            }
        }
        return providers
    }

    static func declaredProviderNames(_ root: ConfigReader) -> [String] {
        root.child("providers")?.entries.map(\.key) ?? []
    }

    private static func provider(named name: String, _ reader: ConfigReader) -> ProviderConfiguration? {
        reader.expectOnly(
            [
                "kind", "base_url", "api_key", "api_version", "socket", "proxy", "timeouts", "raw_stream",
                "auto_cache_control",
            ]
                + vertexKeys + awsKeys)
        let kinds = (ProviderKind.allCases.map(\.rawValue) + ProviderPreset.allCases.map(\.rawValue))
            .joined(separator: ", ")
        reader.require("kind", hint: "one of: \(kinds)")
        // A preset (`kind: groq`) is an OpenAI-compatible provider with a default base URL.
        let kindText = reader.string("kind")
        let preset = kindText.flatMap(ProviderPreset.init(rawValue:))
        let kind = preset != nil ? ProviderKind.openai : kindText.flatMap(ProviderKind.init(rawValue:))
        if let kindText, kind == nil {
            reader.child("kind")?.fail("unknown value \"\(kindText)\" (expected one of: \(kinds))")
        }
        let baseURL = reader.value(
            "base_url", expected: "an http:// or https:// URL with a host", ConfigurationValue.baseURL)
        let apiKey = reader.string("api_key").flatMap { secretReference($0, reader.child("api_key")!) }
        let apiVersion = reader.string("api_version")
        let socket = reader.string("socket")
        let proxy = reader.value(
            "proxy", expected: "an http:// or https:// proxy URL with a host", ConfigurationValue.baseURL)
        var timeouts = TimeoutOverrides()
        reader.section("timeouts") { timeouts = self.timeouts($0) }

        guard let kind else { return nil }
        let region = awsRegion(reader, kind: kind, preset: preset, baseURL: baseURL)
        if kind == .vertex {
            return vertexProvider(
                named: name, reader,
                ProviderConfiguration(
                    name: name, kind: kind, baseURL: baseURL ?? "", apiKey: apiKey, apiVersion: apiVersion,
                    unixSocket: socket, proxy: proxy, timeouts: timeouts))
        }
        rejectVertexKeys(reader, kind: kind)
        let aws = kind == .bedrock ? awsConfiguration(reader, region: region, hasAPIKey: apiKey != nil) : nil
        let url =
            baseURL ?? preset?.defaultBaseURL(region: region)
            ?? (kind == .bedrock ? region.map(AWSProviderConfiguration.runtimeURL(region:)) : defaultBaseURL(kind))
        if url == nil, kind == .bedrock {
            reader.require("region", hint: "for kind bedrock, e.g. us-east-1 (or a base_url)")
        } else if url == nil {
            reader.require("base_url", hint: "no default for kind \(kind.rawValue)")
        }
        if kind == .azure { reader.require("api_version", hint: "for kind azure, e.g. \"2024-10-21\"") }
        let rawStream = reader.bool("raw_stream")
        if rawStream != nil && kind != .azure {
            reader.child("raw_stream")?.fail(
                "raw_stream applies to kind azure only (other streams pass through as sent)")
        }
        let autoCacheControl = reader.bool("auto_cache_control")
        if autoCacheControl != nil && kind != .anthropic && kind != .bedrock {
            reader.child("auto_cache_control")?.fail("auto_cache_control applies to kinds anthropic and bedrock only")
        }
        guard let url, kind != .azure || apiVersion != nil, kind != .bedrock || aws != nil else { return nil }
        var provider = ProviderConfiguration(
            name: name, kind: kind, baseURL: url, apiKey: apiKey, apiVersion: apiVersion, unixSocket: socket,
            proxy: proxy, timeouts: timeouts)
        provider.rawStream = rawStream ?? false
        provider.autoCacheControl = autoCacheControl ?? false
        provider.aws = aws
        return provider
    }

    /// Never echoes the text: it may be a literal key.
    static func secretReference(_ text: String, _ reader: ConfigReader) -> SecretReference? {
        switch SecretReference(parsing: text) {
        case .environment(let variable) where variable.isEmpty:
            reader.fail("env: needs a variable name")
            return nil
        case .file(let path) where path.isEmpty:
            reader.fail("file: needs a path")
            return nil
        case let reference:
            return reference
        }
    }

    static func defaultBaseURL(_ kind: ProviderKind) -> String? {
        switch kind {
        case .openai: "https://api.openai.com/v1"
        case .anthropic: "https://api.anthropic.com"
        case .gemini: "https://generativelanguage.googleapis.com"
        case .azure, .bedrock: nil
        case .vertex: VertexConfiguration.defaultBaseURL(location: VertexConfiguration.defaultLocation, express: false)
        }
    }

    static func weight(_ text: String) -> Double? {
        // Bounded so the sum of a model's weights stays finite (a random draw needs a finite range).
        guard let value = Double(text), value > 0, value <= 1_000_000 else { return nil }
        return value
    }

    /// A price in USD per million tokens: a non-negative decimal number.
    static func usdRate(_ text: String) -> Double? {
        // At most $1,000,000 per million tokens: prices times token counts stay far from overflow.
        guard let value = Double(text), value >= 0, value <= 1_000_000 else { return nil }
        return value
    }

    /// `models`: a list of aliases, each with its ordered targets.
    static func models(_ root: ConfigReader, providers: [String]) -> [ModelConfiguration] {
        // Every declared model name, so a fallback may name a model defined further down.
        var declared = Set<String>()
        if case .sequence(let items)? = root.child("models")?.node {
            for item in items { if let name = item.mapping?["name"]?.string { declared.insert(name) } }
        }
        let guardrailsDeclared = declaredGuardrailNames(root)
        var models: [ModelConfiguration] = []
        var seen: [String: (index: Int, line: Int?)] = [:]
        let count = root.list("models") { index, item in
            item.mapping { model in
                model.expectOnly([
                    "name", "cache", "semantic_cache", "targets", "fallbacks", "context_fallback", "strategy",
                    "guardrails",
                ])
                model.require("name", "targets")
                let name = model.string("name")
                if let name, let first = seen[name] {
                    let line = first.line.map { ", line \($0)" } ?? ""
                    model.child("name")?.fail(
                        "duplicate model name \"\(name)\" (first at models[\(first.index)]\(line))")
                } else if let name {
                    seen[name] = (index, model.child("name")?.line)
                }
                let cache = model.bool("cache")
                let targets = self.targets(model, providers: providers)
                var fallbacks: [String] = []
                _ = model.list("fallbacks") { _, item in
                    guard let text = item.scalarText(expected: "a model name") else { return }
                    if text == name {
                        item.fail("a model cannot fall back to itself")
                    } else if !declared.contains(text) {
                        item.fail("unknown model \"\(text)\"")
                    } else {
                        fallbacks.append(text)
                    }
                }
                var contextFallback = model.string("context_fallback")
                if let context = contextFallback, context == name || !declared.contains(context) {
                    model.child("context_fallback")?.fail(
                        context == name ? "a model cannot fall back to itself" : "unknown model \"\(context)\"")
                    contextFallback = nil
                }
                if let name {
                    var configured = ModelConfiguration(
                        name: name,
                        cache: cache,
                        targets: targets,
                        fallbacks: fallbacks,
                        contextFallback: contextFallback
                    )
                    configured.strategy = model.choice("strategy", as: BalancingStrategy.self) ?? .priority
                    configured.semanticCache = model.bool("semantic_cache")
                    configured.guardrails = guardrailNames(model, declared: guardrailsDeclared)
                    models.append(configured)
                }
            }
        }
        if count == 0 { root.child("models")?.fail("at least one model is required") }
        return models
    }

    private static func targets(_ model: ConfigReader, providers: [String]) -> [TargetConfiguration] {
        var targets: [TargetConfiguration] = []
        let count = model.list("targets") { _, item in
            item.mapping { target in
                target.expectOnly(["provider", "model", "rpm", "tpm", "price", "weight", "timeouts"])
                var targetTimeouts = TimeoutOverrides()
                target.section("timeouts") { targetTimeouts = timeouts($0) }
                let weight = target.value("weight", expected: "a positive number up to 1000000", Self.weight)
                var price: ModelPrice?
                target.section("price") { section in
                    section.expectOnly(["input", "cached_input", "output"])
                    section.require("input", "output")
                    let rate = { (key: String) in
                        section.value(key, expected: "USD per million tokens (0 to 1000000)", Self.usdRate)
                    }
                    if let input = rate("input"), let output = rate("output") {
                        price = ModelPrice(input: input, cachedInput: rate("cached_input"), output: output)
                    }
                }
                target.require("provider", "model")
                let provider = target.string("provider")
                if let provider, !providers.contains(provider) {
                    let known = providers.isEmpty ? "none configured" : providers.joined(separator: ", ")
                    target.child("provider")?.fail("unknown provider \"\(provider)\" (known: \(known))")
                }
                if let provider, let name = target.string("model") {
                    targets.append(
                        TargetConfiguration(
                            provider: provider,
                            model: name,
                            requestsPerMinute: target.int("rpm", in: 1...Int(Int32.max)),
                            tokensPerMinute: target.int("tpm", in: 1...Int(Int32.max)),
                            price: price
                        )
                    )
                    if let weight { targets[targets.count - 1].weight = weight }
                    targets[targets.count - 1].timeouts = targetTimeouts
                }
            }
        }
        if count == 0 { model.child("targets")?.fail("at least one target is required") }
        return targets
    }
}

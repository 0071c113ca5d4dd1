import Yams

extension ConfigurationLoader {
    func providers(_ node: Node) -> [ProviderConfiguration] {
        guard let entries = reader.mapping(node, "providers") else { return [] }
        var providers: [ProviderConfiguration] = []
        for (name, value) in entries {
            let path = "providers.\(name)"
            guard name.utf8.allSatisfy({ Self.isNameByte($0) }), !name.isEmpty else {
                reader.fail(path, value, "provider names may use letters, digits, '_', '.' and '-'")
                continue
            }
            if let provider = provider(named: name, value, path) { providers.append(provider) }
        }
        return providers
    }

    private func provider(named name: String, _ node: Node, _ path: String) -> ProviderConfiguration? {
        guard let entries = reader.mapping(node, path) else { return nil }
        reader.expectOnly(entries, ["kind", "base_url", "api_key", "api_version", "socket", "timeouts"], path)
        guard let kindEntry = entries.first(where: { $0.key == "kind" }) else {
            reader.fail(
                "\(path).kind", node,
                "required (one of: \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            return nil
        }
        guard let kind = reader.choice(kindEntry.node, "\(path).kind", as: ProviderKind.self) else { return nil }
        var provider = ProviderConfiguration(name: name, kind: kind, baseURL: Self.defaultBaseURL(kind) ?? "")
        for (key, value) in entries {
            let keyPath = "\(path).\(key)"
            switch key {
            case "base_url":
                guard let url = reader.nonEmptyString(value, keyPath) else { break }
                if Self.isHTTPURL(url) {
                    provider.baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
                } else {
                    reader.fail(keyPath, value, "expected an http:// or https:// URL with a host")
                }
            case "api_key":
                if let text = reader.nonEmptyString(value, keyPath) {
                    let reference = SecretReference(parsing: text)
                    switch reference {
                    case .environment(let variable) where variable.isEmpty:
                        reader.fail(keyPath, value, "env: needs a variable name")
                    case .file(let file) where file.isEmpty:
                        reader.fail(keyPath, value, "file: needs a path")
                    default:
                        provider.apiKey = reference
                    }
                }
            case "api_version": provider.apiVersion = reader.nonEmptyString(value, keyPath)
            case "socket": provider.unixSocket = reader.nonEmptyString(value, keyPath)
            case "timeouts": provider.timeouts = timeouts(value, keyPath)
            default: break
            }
        }
        if provider.baseURL.isEmpty && !entries.contains(where: { $0.key == "base_url" }) {
            reader.fail("\(path).base_url", node, "required for kind \(kind.rawValue)")
        }
        if kind == .azure && provider.apiVersion == nil && !entries.contains(where: { $0.key == "api_version" }) {
            reader.fail("\(path).api_version", node, "required for kind azure (e.g. \"2024-10-21\")")
        }
        return provider
    }

    func models(_ node: Node, providers: [ProviderConfiguration]) -> [ModelConfiguration] {
        guard let items = reader.sequence(node, "models") else { return [] }
        if items.isEmpty { reader.fail("models", node, "at least one model is required") }
        var models: [ModelConfiguration] = []
        var seen: [String: Int] = [:]
        for (index, item) in items.enumerated() {
            let path = "models[\(index)]"
            guard let entries = reader.mapping(item, path) else { continue }
            reader.expectOnly(entries, ["name", "cache", "targets"], path)
            var name: String?
            var cache: Bool?
            var targets: [TargetConfiguration] = []
            for (key, value) in entries {
                switch key {
                case "name":
                    name = reader.nonEmptyString(value, "\(path).name")
                    if let name, let first = seen[name] {
                        reader.fail("\(path).name", value, "duplicate model name \"\(name)\" (also models[\(first)])")
                    } else if let name {
                        seen[name] = index
                    }
                case "cache": cache = reader.bool(value, "\(path).cache")
                case "targets": targets = self.targets(value, "\(path).targets")
                default: break
                }
            }
            if !entries.contains(where: { $0.key == "name" }) { reader.fail("\(path).name", item, "required") }
            if !entries.contains(where: { $0.key == "targets" }) { reader.fail("\(path).targets", item, "required") }
            if let name { models.append(ModelConfiguration(name: name, cache: cache, targets: targets)) }
        }
        return models
    }

    private func targets(_ node: Node, _ path: String) -> [TargetConfiguration] {
        guard let items = reader.sequence(node, path) else { return [] }
        if items.isEmpty { reader.fail(path, node, "at least one target is required") }
        var targets: [TargetConfiguration] = []
        for (index, item) in items.enumerated() {
            let itemPath = "\(path)[\(index)]"
            guard let entries = reader.mapping(item, itemPath) else { continue }
            reader.expectOnly(entries, ["provider", "model"], itemPath)
            let provider = entries.first { $0.key == "provider" }.flatMap {
                reader.nonEmptyString($0.node, "\(itemPath).provider")
            }
            let model = entries.first { $0.key == "model" }.flatMap {
                reader.nonEmptyString($0.node, "\(itemPath).model")
            }
            if !entries.contains(where: { $0.key == "provider" }) {
                reader.fail("\(itemPath).provider", item, "required")
            }
            if !entries.contains(where: { $0.key == "model" }) { reader.fail("\(itemPath).model", item, "required") }
            if let provider, let model { targets.append(TargetConfiguration(provider: provider, model: model)) }
        }
        return targets
    }

    /// Reports targets naming providers that are not configured.
    func checkTargets(_ modelsNode: Node, providers: [ProviderConfiguration]) {
        guard case .sequence(let models) = modelsNode else { return }
        let known = providers.map(\.name)
        for (modelIndex, model) in models.enumerated() {
            guard case .sequence(let targets)? = model.mapping?["targets"] else { continue }
            for (targetIndex, target) in targets.enumerated() {
                guard let providerNode = target.mapping?["provider"], let name = providerNode.scalar?.string,
                    !name.isEmpty, !known.contains(name)
                else { continue }
                reader.fail(
                    "models[\(modelIndex)].targets[\(targetIndex)].provider",
                    providerNode,
                    "unknown provider \"\(name)\" (known: \(known.isEmpty ? "none" : known.joined(separator: ", ")))"
                )
            }
        }
    }

    static func defaultBaseURL(_ kind: ProviderKind) -> String? {
        switch kind {
        case .openai: "https://api.openai.com/v1"
        case .anthropic: "https://api.anthropic.com"
        case .gemini: "https://generativelanguage.googleapis.com"
        case .azure: nil
        }
    }

    static func isHTTPURL(_ text: String) -> Bool {
        for scheme in ["http://", "https://"] where text.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            return !host.isEmpty && !host.contains(" ")
        }
        return false
    }

    static func isNameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
            true
        default: false
        }
    }
}

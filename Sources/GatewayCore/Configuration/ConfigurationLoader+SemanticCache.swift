extension ConfigurationLoader {
    /// `cache.semantic`.
    static func semanticCache(_ reader: ConfigReader) -> SemanticCacheConfiguration {
        reader.expectOnly([
            "enabled", "embedding_model", "threshold", "ttl", "max_entries", "embed", "budget", "charge_caller",
        ])
        var semantic = SemanticCacheConfiguration()
        semantic.enabled = reader.bool("enabled") ?? semantic.enabled
        semantic.embeddingModel = reader.string("embedding_model")
        semantic.threshold =
            reader.value("threshold", expected: "a cosine similarity above 0 and at most 1, like 0.92") { text in
                Double(text).flatMap { $0 > 0 && $0 <= 1 ? $0 : nil }
            } ?? semantic.threshold
        semantic.ttl = reader.duration("ttl")
        semantic.maxEntries =
            reader.int("max_entries", in: 1...SemanticCacheConfiguration.maximumEntries) ?? semantic.maxEntries
        semantic.chargeCaller = reader.bool("charge_caller") ?? semantic.chargeCaller
        semantic.embed = reader.choice("embed", as: SemanticCacheConfiguration.Embed.self) ?? semantic.embed
        if let budget = reader.duration("budget") {
            if budget <= .zero || budget > .seconds(10) {
                reader.child("budget")?.fail("must be above 0 and at most 10s")
            } else {
                semantic.budget = budget
            }
        }
        return semantic
    }

    /// Once the models are known: a semantic cache in use needs an `embedding_model` that names one
    /// of them (and is not itself semantically cached, which would embed to embed).
    static func validateSemanticCache(_ root: ConfigReader, _ configuration: GatewayConfiguration) {
        let semantic = configuration.cache.semantic
        let inUse = semantic.enabled || configuration.models.contains { $0.semanticCache == true }
        let section = root.child("cache")?.child("semantic")
        guard let name = semantic.embeddingModel else {
            if inUse {
                let message = "the semantic cache needs cache.semantic.embedding_model (one of the models)"
                (section ?? root.child("cache") ?? root).fail(message)
            }
            return
        }
        guard let model = configuration.models.first(where: { $0.name == name }) else {
            section?.child("embedding_model")?.fail("unknown model \"\(name)\" (it must be one of the models)")
            return
        }
        if model.semanticCache == true {
            section?.child("embedding_model")?.fail("the embedding model cannot itself use the semantic cache")
        }
    }
}

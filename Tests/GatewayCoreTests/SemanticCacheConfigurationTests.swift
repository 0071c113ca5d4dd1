import GatewayCore
import Testing

/// `cache.semantic` and a model's `semantic_cache`.
@Suite struct SemanticCacheConfigurationTests {
    static let models = """
        providers:
          openai: { kind: openai }
        models:
          - name: smart
            semantic_cache: true
            targets: [{ provider: openai, model: gpt-4o }]
          - name: embed
            targets: [{ provider: openai, model: text-embedding-3-small }]
        """

    @Test func defaultsAndEverySetting() throws {
        let defaults = try GatewayConfiguration.parse(yaml: smallestConfiguration, source: "config.yaml")
        #expect(defaults.cache.semantic == SemanticCacheConfiguration())
        #expect(defaults.cache.semantic.threshold == 0.92)
        #expect(defaults.cache.semantic.embed == .lastUser)
        #expect(defaults.cache.semantic.budget == .milliseconds(150))
        let yaml =
            Self.models + """

                cache:
                  semantic:
                    enabled: false
                    embedding_model: embed
                    threshold: 0.95
                    ttl: 10m
                    max_entries: 5000
                    embed: conversation
                    budget: 80ms
                    charge_caller: true
                """
        let configuration = try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml")
        var expected = SemanticCacheConfiguration(
            enabled: false, embeddingModel: "embed", threshold: 0.95, ttl: .seconds(600), maxEntries: 5000,
            embed: .conversation, budget: .milliseconds(80))
        expected.chargeCaller = true
        #expect(configuration.cache.semantic == expected)
        #expect(configuration.models.first?.semanticCache == true)
        #expect(configuration.models.last?.semanticCache == nil)
    }

    @Test func problemsAreReportedWithTheirPath() {
        let yaml =
            Self.models + """

                cache:
                  semantic:
                    embedding_model: nope
                    threshold: 1.5
                    max_entries: 0
                    embed: everything
                    budget: 0s
                    size: 3
                """
        #expect(
            renderedErrors(yaml) == """
                config.yaml:11: cache.semantic.embedding_model: unknown model "nope" (it must be one of the models)
                config.yaml:12: cache.semantic.threshold: expected a cosine similarity above 0 and at most 1, like 0.92
                config.yaml:13: cache.semantic.max_entries: expected an integer from 1 to 1000000
                config.yaml:14: cache.semantic.embed: unknown value "everything" (expected one of: last_user, conversation)
                config.yaml:15: cache.semantic.budget: must be above 0 and at most 10s
                config.yaml:16: cache.semantic.size: unknown key (expected one of: enabled, embedding_model, threshold, ttl, max_entries, embed, budget, charge_caller)
                """)
    }

    @Test func aSemanticCacheInUseNeedsAnEmbeddingModel() {
        #expect(
            renderedErrors(Self.models) == """
                config.yaml:1: the semantic cache needs cache.semantic.embedding_model (one of the models)
                """)
        let selfEmbedding = """
            providers:
              openai: { kind: openai }
            cache: { semantic: { embedding_model: embed } }
            models:
              - name: embed
                semantic_cache: true
                targets: [{ provider: openai, model: text-embedding-3-small }]
            """
        #expect(
            renderedErrors(selfEmbedding) == """
                config.yaml:3: cache.semantic.embedding_model: the embedding model cannot itself use the semantic cache
                """)
    }
}

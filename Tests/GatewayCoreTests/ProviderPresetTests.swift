import Testing

@testable import GatewayCore

@Suite struct ProviderPresetTests {
    @Test(arguments: ProviderPreset.allCases)
    func aPresetIsAnOpenAICompatibleProviderWithItsBaseURL(_ preset: ProviderPreset) throws {
        let configuration = try GatewayConfiguration.parse(
            yaml: """
                providers: { p: { kind: \(preset.rawValue) } }
                models: [{ name: m, targets: [{ provider: p, model: x }] }]
                """,
            source: "test.yaml"
        )
        let provider = try #require(configuration.provider(named: "p"))
        #expect(provider.kind == .openai)
        #expect(provider.baseURL == preset.defaultBaseURL)
        #expect(ConfigurationValue.baseURL(provider.baseURL) != nil)
    }

    @Test func aPresetsBaseURLCanBeOverridden() throws {
        let configuration = try GatewayConfiguration.parse(
            yaml: """
                providers: { local: { kind: vllm, base_url: "http://127.0.0.1:9000/v1" } }
                models: [{ name: m, targets: [{ provider: local, model: x }] }]
                """,
            source: "test.yaml"
        )
        #expect(configuration.provider(named: "local")?.baseURL == "http://127.0.0.1:9000/v1")
    }

    @Test func anUnknownKindListsKindsAndPresets() {
        #expect {
            try GatewayConfiguration.parse(
                yaml: "providers: { p: { kind: grok } }\nmodels: [{ name: m, targets: [{ provider: p, model: x }] }]\n",
                source: "test.yaml"
            )
        } throws: { error in
            let text = String(describing: error)
            return text.contains("providers.p.kind") && text.contains("groq") && text.contains("anthropic")
        }
    }
}

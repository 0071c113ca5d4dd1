import GatewayCore
import Testing

@Suite struct SecretResolverTests {
    let secret = "sk-test-7f3a9c1e-DO-NOT-PRINT"

    @Test func environmentFileAndLiteral() throws {
        let resolver = SecretResolver(
            environment: ["OPENAI_API_KEY": secret],
            readFile: { $0 == "/run/secrets/anthropic" ? "file-secret\n" : nil })
        #expect(try resolver.resolve(.environment("OPENAI_API_KEY"), path: "p").revealed == secret)
        #expect(try resolver.resolve(.file("/run/secrets/anthropic"), path: "p").revealed == "file-secret")
        #expect(try resolver.resolve(.literal("lit"), path: "p").revealed == "lit")
    }

    @Test func aRealFileIsReadAndTrimmed() throws {
        let path = "/tmp/llmgw-secret-test-\(UInt64.random(in: 0...UInt64.max))"
        try writeFile(path, "  \(secret) \r\n")
        defer { removeFile(path) }
        #expect(try SecretResolver().resolve(.file(path), path: "p").revealed == secret)
    }

    @Test func unsetOrEmptyEnvironmentVariables() {
        let resolver = SecretResolver(environment: ["EMPTY": ""])
        for name in ["OPENAI_API_KEY", "EMPTY"] {
            #expect {
                try resolver.resolve(.environment(name), path: "providers.openai.api_key")
            } throws: { error in
                "\(error)" == "providers.openai.api_key: environment variable \(name) is not set"
            }
        }
    }

    @Test func missingOrEmptyFiles() {
        let resolver = SecretResolver(environment: [:], readFile: { $0 == "/empty" ? " \n" : nil })
        #expect {
            try resolver.resolve(.file("/nonexistent/key"), path: "providers.claude.api_key")
        } throws: { error in
            "\(error)" == "providers.claude.api_key: cannot read key file /nonexistent/key"
        }
        #expect {
            try resolver.resolve(.file("/empty"), path: "providers.claude.api_key")
        } throws: { error in
            "\(error)" == "providers.claude.api_key: key file /empty is empty"
        }
        #expect(throws: ConfigurationError.self) {
            try SecretResolver().resolve(.file("/nonexistent/llmgw/key"), path: "p")
        }
    }

    @Test func resolveKeysCollectsEveryFailure() throws {
        let configuration = try GatewayConfiguration.parse(yaml: designMinimalConfiguration, source: "config.yaml")
        let resolver = SecretResolver(environment: ["GEMINI_API_KEY": secret], readFile: { _ in nil })
        #expect {
            try resolver.resolveKeys(of: configuration, source: "config.yaml")
        } throws: { error in
            "\(error)" == """
                config.yaml: providers.openai.api_key: environment variable OPENAI_API_KEY is not set
                config.yaml: providers.claude.api_key: cannot read key file /run/secrets/anthropic
                config.yaml: providers.azure-eu.api_key: environment variable AZURE_KEY is not set
                """
        }
    }

    @Test func resolveKeysReturnsEveryProvidersKey() throws {
        let configuration = try GatewayConfiguration.parse(yaml: designMinimalConfiguration, source: "config.yaml")
        let resolver = SecretResolver(
            environment: ["OPENAI_API_KEY": "o", "GEMINI_API_KEY": "g", "AZURE_KEY": "a"],
            readFile: { _ in "c\n" })
        let keys = try resolver.resolveKeys(of: configuration)
        #expect(keys.mapValues(\.revealed) == ["openai": "o", "claude": "c", "gemini": "g", "azure-eu": "a"])
    }

    @Test func providersWithoutAKeyAreSkipped() throws {
        let configuration = try GatewayConfiguration.parse(yaml: smallestConfiguration, source: "config.yaml")
        #expect(try SecretResolver(environment: [:]).resolveKeys(of: configuration).isEmpty)
    }

    @Test func aResolvedSecretNeverPrintsItsValue() {
        let resolved = ResolvedSecret(secret)
        let renderings = [
            "\(resolved)", String(describing: resolved), String(reflecting: resolved), "\([resolved])",
            "\(["openai": resolved])", "\(Optional(resolved) as Any)", dumped(resolved),
        ]
        for rendering in renderings {
            #expect(!rendering.contains(secret), "\(rendering)")
            #expect(rendering.contains("<redacted>") || rendering.contains("ResolvedSecret"), "\(rendering)")
        }
        #expect(resolved.revealed == secret)
    }

    @Test func aLiteralKeyInTheConfigurationNeverPrints() throws {
        let yaml = """
            providers:
              local: { kind: openai, api_key: \(secret) }
            models:
              - name: m
                targets: [{ provider: local, model: x }]
            """
        let configuration = try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml")
        #expect(configuration.providers[0].apiKey == .literal(secret))
        for rendering in [
            "\(configuration)", String(reflecting: configuration), dumped(configuration),
            "\(configuration.providers[0].apiKey!)",
        ] {
            #expect(!rendering.contains(secret), "\(rendering)")
        }
    }

    @Test func errorsNeverContainTheSecret() throws {
        // The value of a variable that is set but whose sibling is not: no error mentions any value.
        let configuration = try GatewayConfiguration.parse(yaml: designMinimalConfiguration, source: "config.yaml")
        let resolver = SecretResolver(
            environment: ["OPENAI_API_KEY": secret, "GEMINI_API_KEY": ""], readFile: { _ in "  \n" })
        do {
            _ = try resolver.resolveKeys(of: configuration)
            Issue.record("expected errors")
        } catch {
            #expect(error.errors.count == 3)
            #expect(!"\(error)".contains(secret))
            #expect(!String(reflecting: error).contains(secret))
        }
    }
}

private func dumped(_ value: some Any) -> String {
    var text = ""
    dump(value, to: &text)
    return text
}

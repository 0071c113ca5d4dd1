import GatewayCore
import Testing

@Suite struct GatewayConfigurationTests {
    @Test func designMinimalConfigurationParses() throws {
        let configuration = try GatewayConfiguration.parse(yaml: designMinimalConfiguration, source: "design.yaml")
        #expect(configuration.listen.socket == "/run/llmgw.sock")
        #expect(configuration.listen.tcp == HostAndPort(host: "127.0.0.1", port: 4000))
        #expect(configuration.state.path == "/var/lib/llmgw")
        #expect(configuration.auth.mode == .none)
        #expect(configuration.providers.map(\.name) == ["openai", "claude", "gemini", "azure-eu"])
        #expect(
            configuration.providers[0]
                == ProviderConfiguration(
                    name: "openai", kind: .openai, baseURL: "https://api.openai.com/v1",
                    apiKey: .environment("OPENAI_API_KEY")))
        #expect(configuration.providers[1].kind == .anthropic)
        #expect(configuration.providers[1].apiKey == .file("/run/secrets/anthropic"))
        #expect(configuration.providers[2].kind == .gemini)
        #expect(configuration.providers[2].baseURL == "https://generativelanguage.googleapis.com")
        #expect(configuration.providers[3].kind == .azure)
        #expect(configuration.providers[3].apiVersion == "2024-10-21")
        #expect(configuration.providers[3].baseURL == "https://RESOURCE.openai.azure.com")
        #expect(configuration.cache == CacheConfiguration(enabled: false, ttl: .seconds(3600)))
        #expect(
            configuration.models == [
                ModelConfiguration(
                    name: "smart", cache: true,
                    targets: [
                        TargetConfiguration(provider: "openai", model: "gpt-4o"),
                        TargetConfiguration(provider: "claude", model: "claude-sonnet-4-5"),
                    ])
            ])
        #expect(
            configuration.model(named: "smart")?.targets.map(\.description) == [
                "openai/gpt-4o", "claude/claude-sonnet-4-5",
            ])
    }

    @Test func metricsAreServedUnlessKeysAreRequiredOrTheFileSaysOtherwise() throws {
        let unset = try GatewayConfiguration.parse(yaml: smallestConfiguration, source: "c.yaml").metrics
        #expect(unset.enabled == nil)
        #expect(unset.isServed(under: .none) && unset.isServed(under: .peer))
        #expect(!unset.isServed(under: .keys))
        let on = try GatewayConfiguration.parse(
            yaml: smallestConfiguration + "\nmetrics:\n  enabled: true\n", source: "c.yaml"
        ).metrics
        #expect(on.isServed(under: .keys))
        let off = try GatewayConfiguration.parse(
            yaml: smallestConfiguration + "\nmetrics: { enabled: false }\n", source: "c.yaml"
        ).metrics
        #expect(!off.isServed(under: .none))
    }

    @Test func omittedSectionsKeepTheirDefaults() throws {
        let configuration = try GatewayConfiguration.parse(yaml: smallestConfiguration, source: "config.yaml")
        #expect(configuration.listen == ListenConfiguration())
        #expect(configuration.listen.socket == "/run/llmgw.sock")
        #expect(configuration.listen.socketMode == 0o660)
        #expect(configuration.listen.tcp == nil)
        #expect(configuration.listen.maxBodyBytes == 10 * 1024 * 1024)
        #expect(configuration.state == StateConfiguration())
        #expect(configuration.auth.mode == .none)
        #expect(configuration.cache == CacheConfiguration())
        #expect(configuration.timeouts == TimeoutConfiguration())
        #expect(configuration.log == LogConfiguration(level: "info", includeBodies: false))
        #expect(configuration.models[0].cache == nil)
        #expect(configuration.providers[0].apiKey == nil)
        #expect(configuration.providers[0].unixSocket == nil)
    }

    @Test func baseURLDefaultsPerKindAndLosesItsTrailingSlash() throws {
        let yaml = """
            providers:
              a: { kind: openai }
              b: { kind: anthropic }
              c: { kind: gemini }
              d: { kind: openai, base_url: "http://localhost:8000/v1/" }
              e: { kind: anthropic, base_url: "https://api.anthropic.com/" }
            models:
              - name: m
                targets: [{ provider: a, model: x }]
            """
        let providers = try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml").providers
        #expect(
            providers.map(\.baseURL) == [
                "https://api.openai.com/v1", "https://api.anthropic.com", "https://generativelanguage.googleapis.com",
                "http://localhost:8000/v1", "https://api.anthropic.com",
            ])
    }

    @Test func everyKeyIsRead() throws {
        let yaml = """
            listen:
              socket: /tmp/gw.sock
              socket_mode: 0600
              tcp: "[::1]:8080"
              max_body_bytes: 512KiB
              read_timeout: 5s
              idle_timeout: 2m
              drain_timeout: 500ms
            state: { path: /tmp/state }
            auth: { mode: keys }
            providers:
              local:
                kind: openai
                base_url: http://localhost/v1
                api_key: sk-literal
                socket: /run/vllm.sock
                timeouts: { connect: 1s, first_byte: 30s }
            cache: { enabled: yes, ttl: 1d }
            timeouts: { connect: 2s, first_byte: 60, idle: 15s, total: 5m }
            models:
              - name: fast
                cache: false
                targets:
                  - provider: local
                    model: llama
            log: { level: debug, include_bodies: true }
            """
        let configuration = try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml")
        #expect(
            configuration.listen
                == ListenConfiguration(
                    socket: "/tmp/gw.sock", socketMode: 0o600, tcp: HostAndPort(host: "::1", port: 8080),
                    maxBodyBytes: 512 * 1024, readTimeout: .seconds(5), idleTimeout: .seconds(120),
                    drainTimeout: .milliseconds(500)))
        #expect(configuration.listen.tcp?.description == "[::1]:8080")
        #expect(configuration.state.path == "/tmp/state")
        #expect(configuration.auth.mode == .keys)
        let provider = try #require(configuration.provider(named: "local"))
        #expect(provider.apiKey == .literal("sk-literal"))
        #expect(provider.unixSocket == "/run/vllm.sock")
        #expect(provider.timeouts == TimeoutOverrides(connect: .seconds(1), firstByte: .seconds(30)))
        #expect(configuration.cache == CacheConfiguration(enabled: true, ttl: .seconds(86400)))
        #expect(
            configuration.timeouts
                == TimeoutConfiguration(
                    connect: .seconds(2), firstByte: .seconds(60), idle: .seconds(15), total: .seconds(300)))
        #expect(configuration.timeouts.applying(provider.timeouts).connect == .seconds(1))
        #expect(configuration.timeouts.applying(provider.timeouts).idle == .seconds(15))
        #expect(
            configuration.models == [
                ModelConfiguration(name: "fast", cache: false, targets: [.init(provider: "local", model: "llama")])
            ])
        #expect(configuration.log == LogConfiguration(level: "debug", includeBodies: true))
    }

    @Test(arguments: ["0660", "\"0660\"", "0o660", "'0o660'", "660"])
    func socketModeForms(_ text: String) throws {
        let yaml = "listen:\n  socket_mode: \(text)\n" + smallestConfiguration
        #expect(try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml").listen.socketMode == 0o660)
    }

    @Test(arguments: [
        ("127.0.0.1:4000", HostAndPort(host: "127.0.0.1", port: 4000)),
        ("127.10.0.2:1", HostAndPort(host: "127.10.0.2", port: 1)),
        ("localhost:65535", HostAndPort(host: "localhost", port: 65535)),
        ("\"[::1]:4000\"", HostAndPort(host: "::1", port: 4000)),
    ])
    func tcpForms(_ text: String, _ expected: HostAndPort) throws {
        let yaml = "listen:\n  tcp: \(text)\n" + smallestConfiguration
        #expect(try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml").listen.tcp == expected)
    }

    @Test func emptySectionsMeanDefaults() throws {
        let configuration = try GatewayConfiguration.parse(
            yaml: "listen:\ncache: ~\n" + smallestConfiguration, source: "config.yaml")
        #expect(configuration.listen == ListenConfiguration())
        #expect(configuration.cache == CacheConfiguration())
    }

    @Test func loadReadsAFile() throws {
        let path = "/tmp/llmgw-config-test-\(UInt64.random(in: 0...UInt64.max)).yaml"
        try writeFile(path, designMinimalConfiguration)
        defer { removeFile(path) }
        let configuration = try GatewayConfiguration.load(contentsOf: path)
        #expect(configuration.providers.count == 4)
    }

    @Test func loadNamesAMissingFile() {
        #expect {
            try GatewayConfiguration.load(contentsOf: "/nonexistent/llmgw.yaml")
        } throws: { error in
            "\(error)" == "/nonexistent/llmgw.yaml: cannot read the file"
        }
    }
}

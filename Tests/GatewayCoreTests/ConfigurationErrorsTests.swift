import GatewayCore
import Testing

/// Each kind of problem is reported with its path and line; every problem of a file is reported.
@Suite struct ConfigurationErrorsTests {
    /// `(yaml, expected rendered line)`; line numbers count from the first line of the YAML.
    @Test(arguments: [
        (
            "listen:\n  sockt: /tmp/x.sock\n",
            "config.yaml:2: listen.sockt: unknown key (expected one of: socket, socket_mode, tcp, max_body_bytes, "
                + "read_timeout, idle_timeout, drain_timeout, socket_group, max_connections, max_in_flight, "
                + "max_header_bytes, write_timeout, allowed_origins)"
        ),
        (
            "lisen:\n  socket: /x\n",
            "config.yaml:1: lisen: unknown key (expected one of: listen, state, auth, "
                + "providers, cache, timeouts, models, log, limits, retry, circuit, metrics, callers, admin, responses, guardrails, shared)"
        ),
        ("metrics:\n  enable: true\n", "config.yaml:2: metrics.enable: unknown key (expected one of: enabled)"),
        (
            "guardrails:\n  - { name: g, kind: pii, colour: red }\n",
            "config.yaml:2: guardrails[0].colour: unknown key (expected one of: name, kind, on, action, failure, "
                + "entities, patterns, restore, schema, model, api, timeout, categories, cache_ttl)"
        ),
        (
            "guardrails:\n  - { name: g, kind: llm }\n",
            "config.yaml:2: guardrails[0].kind: unknown value \"llm\" (expected one of: pii, regex, json_schema, classifier)"
        ),
        (
            "guardrails:\n  - { name: g, kind: classifier, model: smart, api: vibes }\n",
            "config.yaml:2: guardrails[0].api: unknown value \"vibes\" (expected one of: chat, moderation)"
        ),
        ("listen:\n  tcp: 4000\n", "config.yaml:2: listen.tcp: expected HOST:PORT (e.g. 127.0.0.1:4000 or [::1]:4000)"),
        (
            "listen:\n  tcp: [1, 2]\n",
            "config.yaml:2: listen.tcp: expected HOST:PORT (e.g. 127.0.0.1:4000 or [::1]:4000)"
        ),
        (
            "listen:\n  tcp: 0.0.0.0:4000\n",
            "config.yaml:2: listen.tcp: 0.0.0.0 is not a loopback address (use 127.0.0.0/8, ::1 or localhost)"
        ),
        (
            "listen:\n  tcp: \"[::]:4000\"\n",
            "config.yaml:2: listen.tcp: :: is not a loopback address (use 127.0.0.0/8, ::1 or localhost)"
        ),
        (
            "listen:\n  socket_mode: 0990\n",
            "config.yaml:2: listen.socket_mode: expected octal permission bits like 0660"
        ),
        (
            "listen:\n  read_timeout: soon\n",
            "config.yaml:2: listen.read_timeout: expected a duration like 500ms, 30s, 5m, 1h or 1d"
        ),
        (
            "listen:\n  max_body_bytes: 10 megs\n",
            "config.yaml:2: listen.max_body_bytes: expected a size like 512KiB, 10MiB, 1MB or a number of bytes"
        ),
        (
            "listen:\n  read_timeout: 1000000000000000000000s\n",
            "config.yaml:2: listen.read_timeout: must be at most 3650d"
        ),
        ("listen:\n  idle_timeout: 99999999999d\n", "config.yaml:2: listen.idle_timeout: must be at most 3650d"),
        ("cache:\n  ttl: 3651d\n", "config.yaml:2: cache.ttl: must be at most 3650d"),
        ("listen:\n  max_body_bytes: 2048GiB\n", "config.yaml:2: listen.max_body_bytes: must be at most 1TiB"),
        (
            "listen:\n  max_body_bytes: 99999999999999999999999\n",
            "config.yaml:2: listen.max_body_bytes: must be at most 1TiB"
        ),
        ("listen: /tmp/x\n", "config.yaml:1: listen: expected a mapping"),
        (
            "auth:\n  mode: open\n",
            "config.yaml:2: auth.mode: unknown value \"open\" (expected one of: none, keys, peer, keys_or_peer)"
        ),
        ("cache:\n  enabled: maybe\n", "config.yaml:2: cache.enabled: expected true or false"),
        ("cache:\n  ttl: -5s\n", "config.yaml:2: cache.ttl: expected a duration like 500ms, 30s, 5m, 1h or 1d"),
        (
            "timeouts:\n  connect: 1x\n",
            "config.yaml:2: timeouts.connect: expected a duration like 500ms, 30s, 5m, 1h or 1d"
        ),
        ("state:\n  path: \"\"\n", "config.yaml:2: state.path: must not be empty"),
        (
            "log:\n  level: loud\n",
            "config.yaml:2: log.level: unknown value \"loud\" (expected one of: trace, debug, info, notice, warning, "
                + "error, critical)"
        ),
    ])
    func sectionProblem(_ yaml: String, _ expected: String) {
        #expect(renderedErrors(yaml + smallestConfiguration) == expected)
    }

    @Test func providerProblems() {
        let yaml = """
            providers:
              openai: { base_url: https://api.openai.com/v1 }
              claude: { kind: antropic }
              az: { kind: azure }
              bad name: { kind: openai }
              local: { kind: openai, base_url: "ftp://host", colour: blue }
              nohost: { kind: openai, base_url: "https:///v1", api_key: "env:" }
            models:
              - name: smart
                targets: [{ provider: openai, model: gpt-4o }]
            """
        #expect(
            renderedErrors(yaml) == """
                config.yaml:2: providers.openai.kind: required (one of: openai, anthropic, gemini, azure, vertex, bedrock, groq, mistral, together, deepseek, openrouter, fireworks, xai, perplexity, cerebras, vllm, ollama, llama.cpp, lmstudio, bedrock-openai)
                config.yaml:3: providers.claude.kind: unknown value "antropic" (expected one of: openai, anthropic, gemini, azure, vertex, bedrock, groq, mistral, together, deepseek, openrouter, fireworks, xai, perplexity, cerebras, vllm, ollama, llama.cpp, lmstudio, bedrock-openai)
                config.yaml:4: providers.az.base_url: required (no default for kind azure)
                config.yaml:4: providers.az.api_version: required (for kind azure, e.g. "2024-10-21")
                config.yaml:5: providers.bad name: invalid provider name (letters, digits, '_', '.' and '-' only)
                config.yaml:6: providers.local.colour: unknown key (expected one of: kind, base_url, api_key, api_version, socket, proxy, timeouts, raw_stream, auto_cache_control, project, location, publisher, credentials_file, metadata_server, access_token, token_url, region, aws_access_key_id, aws_secret_access_key, aws_session_token, aws_profile)
                config.yaml:6: providers.local.base_url: expected an http:// or https:// URL with a host
                config.yaml:7: providers.nohost.base_url: expected an http:// or https:// URL with a host
                config.yaml:7: providers.nohost.api_key: env: needs a variable name
                """)
    }

    @Test func azureRequiresAnAPIVersion() {
        let yaml = """
            providers:
              azure-eu:
                kind: azure
                base_url: https://r.openai.azure.com
            models:
              - name: m
                targets: [{ provider: azure-eu, model: gpt-4o }]
            """
        #expect(
            renderedErrors(yaml) == """
                config.yaml:3: providers.azure-eu.api_version: required (for kind azure, e.g. "2024-10-21")
                """)
    }

    @Test func modelProblems() {
        let yaml = """
            providers:
              openai: { kind: openai }
              claude: { kind: anthropic }
            models:
              - name: smart
                targets: [{ provider: openai, model: gpt-4o }]
              - name: smart
                targets:
                  - { provider: claude, model: claude-sonnet-4-5 }
                  - { provider: opnai, model: gpt-4o }
              - name: empty
                targets: []
              - name: lonely
              - targets: [{ provider: openai }]
                speed: fast
            """
        #expect(
            renderedErrors(yaml) == """
                config.yaml:7: models[1].name: duplicate model name "smart" (first at models[0], line 5)
                config.yaml:10: models[1].targets[1].provider: unknown provider "opnai" (known: openai, claude)
                config.yaml:12: models[2].targets: at least one target is required
                config.yaml:13: models[3].targets: required
                config.yaml:14: models[4].name: required
                config.yaml:14: models[4].targets[0].model: required
                config.yaml:15: models[4].speed: unknown key (expected one of: name, cache, semantic_cache, targets, fallbacks, context_fallback, strategy, guardrails)
                """)
    }

    @Test func modelsAreRequired() {
        #expect(
            renderedErrors("providers:\n  openai: { kind: openai }\n") == """
                config.yaml:1: models: required (at least one model)
                """)
        #expect(renderedErrors("models: []\n") == "config.yaml:1: models: at least one model is required")
        #expect(renderedErrors("models: {}\n") == "config.yaml:1: models: expected a list")
    }

    @Test func targetsNamingAnUnconfiguredProviderWithNoProvidersAtAll() {
        let yaml = "models:\n  - name: m\n    targets: [{ provider: openai, model: x }]\n"
        #expect(
            renderedErrors(yaml) == """
                config.yaml:3: models[0].targets[0].provider: unknown provider "openai" (known: none configured)
                """)
    }

    @Test func aBrokenProviderIsNotReportedAgainByItsTargets() {
        let yaml =
            "providers:\n  openai: { kind: opnai }\n"
            + "models:\n  - name: m\n    targets: [{ provider: openai, model: x }]\n"
        #expect(configurationErrors(yaml).map(\.path) == ["providers.openai.kind"])
    }

    @Test func yamlSyntaxErrorsCarryTheirLine() {
        let errors = configurationErrors("listen:\n  socket: /x\n  tcp: [127.0.0.1:4000\nstate: {}\n")
        #expect(errors.count == 1)
        #expect(errors.first?.line == 4)
        #expect(errors.first?.message.hasPrefix("invalid YAML: ") == true)
        let tabs = configurationErrors("listen:\n\tsocket: /x\n")
        #expect(tabs.first?.line == 2)
        #expect(renderedErrors("").hasSuffix("the file is empty"))
        #expect(renderedErrors("- a\n- b\n") == "config.yaml:1: expected a mapping")
    }

    @Test func duplicateKeysAreReportedWithPathAndLineAlongsideOtherErrors() {
        let yaml = """
            listen:
              socket: /a.sock
              tcp: 127.0.0.1:1
              socket: /b.sock
            providers:
              openai: { kind: openai, kind: openai }
              openai: { kind: anthropic }
            models:
              - name: smart
                targets: [{ provider: openai, model: gpt-4o }]
                colour: red
            """
        #expect(
            renderedErrors(yaml) == """
                config.yaml:4: listen.socket: duplicate key (first at line 2)
                config.yaml:6: providers.openai.kind: duplicate key (first at line 6)
                config.yaml:7: providers.openai: duplicate key (first at line 6)
                config.yaml:11: models[0].colour: unknown key (expected one of: name, cache, semantic_cache, targets, fallbacks, context_fallback, strategy, guardrails)
                """)
    }

    @Test func duplicateKeysInListItemsQuotedKeysAndWholeSections() {
        let yaml = """
            cache:
              ttl: 1h
            providers:
              a: { kind: openai }
              b:
                kind: openai
                "kind": anthropic
            models:
              - name: m
                targets: [{ provider: a, model: x }]
                name: n
            cache:
              enabled: true
            """
        #expect(
            renderedErrors(yaml) == """
                config.yaml:7: providers.b.kind: duplicate key (first at line 6)
                config.yaml:11: models[0].name: duplicate key (first at line 9)
                config.yaml:12: cache: duplicate key (first at line 1)
                """)
    }

    @Test func theSameKeyInSiblingMappingsIsNoDuplicate() throws {
        let yaml = """
            providers:
              a:
                kind: openai
              b:
                kind: openai
            models:
              - name: m
                targets:
                  - provider: a
                    model: x
                  - provider: b
                    model: x
            """
        #expect(configurationErrors(yaml).isEmpty)
        let configuration = try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml")
        #expect(configuration.models[0].targets.map(\.description) == ["a/x", "b/x"])
    }

    @Test func anchorsAndAliasesAreFollowed() throws {
        let yaml = """
            providers:
              a: &openai { kind: openai }
              b: *openai
            models:
              - name: m
                targets: [{ provider: b, model: x }]
            """
        let configuration = try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml")
        #expect(configuration.providers.map(\.name) == ["a", "b"])
    }

    @Test func severalErrorsAreReportedTogetherInFileOrder() throws {
        let yaml = """
            listen:
              sockt: /run/llmgw.sock
              tcp: 10.0.0.1:4000
            providers:
              openai: { kind: openai }
            models:
              - name: smart
                targets:
                  - { provider: opnai, model: gpt-4o }
            cache:
              ttl: forever
            """
        let errors = configurationErrors(yaml)
        #expect(errors.map(\.path) == ["listen.sockt", "listen.tcp", "models[0].targets[0].provider", "cache.ttl"])
        #expect(errors.map(\.line) == [2, 3, 9, 11])
        #expect(
            renderedErrors(yaml) == """
                config.yaml:2: listen.sockt: unknown key (expected one of: socket, socket_mode, tcp, max_body_bytes, read_timeout, idle_timeout, drain_timeout, socket_group, max_connections, max_in_flight, max_header_bytes, write_timeout, allowed_origins)
                config.yaml:3: listen.tcp: 10.0.0.1 is not a loopback address (use 127.0.0.0/8, ::1 or localhost)
                config.yaml:9: models[0].targets[0].provider: unknown provider "opnai" (known: openai)
                config.yaml:11: cache.ttl: expected a duration like 500ms, 30s, 5m, 1h or 1d
                """)
    }

    @Test func errorsNeverEchoALiteralKey() {
        let yaml = """
            providers:
              openai: { kind: openai, api_key: sk-SECRET-literal, base_url: nope }
              other: { kind: openai, api_key: [sk-SECRET-literal] }
            models:
              - name: m
                targets: [{ provider: openai, model: x }]
            """
        let rendered = renderedErrors(yaml)
        #expect(rendered.contains("providers.other.api_key: expected a string"))
        #expect(!rendered.contains("SECRET"))
    }
}

import GatewayCore

/// The minimal configuration of docs/design.md §3, verbatim.
let designMinimalConfiguration = """
    listen:
      socket: /run/llmgw.sock          # Unix socket path
      tcp: 127.0.0.1:4000              # optional loopback TCP listener
    state:
      path: /var/lib/llmgw             # LMDB directory shared by every sidecar on the host
    auth:
      mode: none                       # none | keys | peer   (keys = virtual keys required)
    providers:
      openai:   { kind: openai,    base_url: https://api.openai.com/v1, api_key: env:OPENAI_API_KEY }
      claude:   { kind: anthropic, base_url: https://api.anthropic.com, api_key: file:/run/secrets/anthropic }
      gemini:   { kind: gemini,    base_url: https://generativelanguage.googleapis.com, api_key: env:GEMINI_API_KEY }
      azure-eu: { kind: azure,     base_url: https://RESOURCE.openai.azure.com, api_key: env:AZURE_KEY, api_version: "2024-10-21" }
    cache:
      enabled: false                   # default for every model; a model may override it
      ttl: 1h
    models:
      - name: smart                    # what clients send as "model"
        cache: true                    # optional per-model override of cache.enabled
        targets:                       # tried in order (strategy: priority) unless a strategy says otherwise
          - { provider: openai, model: gpt-4o }
          - { provider: claude, model: claude-sonnet-4-5 }
    """

/// A valid file to append sections to: one provider, one model.
let smallestConfiguration = """
    providers:
      openai: { kind: openai }
    models:
      - name: smart
        targets: [{ provider: openai, model: gpt-4o }]
    """

/// The problems found in `yaml` (empty when it parses).
func configurationErrors(_ yaml: String) -> [ConfigurationError] {
    do {
        _ = try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml")
        return []
    } catch {
        return error.errors
    }
}

/// The rendered errors of `yaml`, one per line (empty when it parses).
func renderedErrors(_ yaml: String) -> String {
    do {
        _ = try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml")
        return ""
    } catch {
        return error.description
    }
}

import GatewayCore

/// Checks, when keys are resolved (start, SIGHUP, `llmgw check`), that every Vertex
/// `credentials_file` is a service-account key whose private key loads and signs, so that a wrong
/// file is reported with its path before any request, not on the first attempt. Messages name the
/// field or the problem, never the file's contents.
public enum VertexCredentialCheck {
    public static func validate(
        _ configuration: GatewayConfiguration, keys: [String: String], source: String = "provider keys"
    ) throws(ConfigurationErrors) {
        var errors: [ConfigurationError] = []
        for provider in configuration.providers {
            guard case .serviceAccount? = provider.vertex?.credentials, let text = keys[provider.name] else { continue }
            do {
                let key = try GoogleServiceAccountKey(json: text)
                _ = try GoogleJWT.assertion(for: key, scope: VertexConfiguration.scope, issuedAt: 0)
            } catch {
                errors.append(
                    ConfigurationError(
                        path: "providers.\(provider.name).credentials_file", line: nil, message: error.detail))
            }
        }
        guard errors.isEmpty else { throw ConfigurationErrors(source: source, errors: errors) }
    }
}

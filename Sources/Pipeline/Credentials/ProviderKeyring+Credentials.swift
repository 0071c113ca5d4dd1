import GatewayCore

/// What an attempt sends to prove the gateway's identity: the provider key, or for Vertex AI an
/// OAuth2 access token minted from the configured credential.
struct ProviderCredential: Sendable {
    /// The key or token; nil when the provider needs none.
    let secret: String?
    /// A token the gateway minted and had cached: a 401 to it is worth one retry with a new one.
    let refreshable: Bool
}

extension ProviderKeyring {
    /// The credential for an attempt at `provider`. For every kind but Vertex it is the resolved
    /// key. For Vertex with `credentials_file` or `metadata_server` it is a cached access token,
    /// minted through `transport` (the service-account JWT grant, or the metadata server) when
    /// there is none or it is due for refresh; `access_token` and `api_key` are used as resolved.
    func credential(
        for provider: ProviderConfiguration,
        transport: any UpstreamTransport,
        clock: any WallClock,
        timeouts: TimeoutConfiguration
    ) async throws(AccessTokenFailure) -> ProviderCredential {
        let material = key(for: provider.name)
        guard let vertex = provider.vertex, vertex.credentials.mintsTokens else {
            return ProviderCredential(secret: material, refreshable: false)
        }
        let minter = GoogleTokenMinter(
            credentials: vertex.credentials, material: material, proxy: provider.proxy, transport: transport,
            clock: clock, timeouts: timeouts)
        let issued = try await tokens.token(for: provider.name, nowMillis: { clock.nowMillis() }) {
            () async throws(AccessTokenFailure) in try await minter.mint()
        }
        return ProviderCredential(secret: issued.value, refreshable: issued.cached)
    }

    /// `provider` answered 401 to `token`: it is not sent again.
    func invalidate(token: String, for provider: String) {
        tokens.invalidate(token, for: provider)
    }
}

import GatewayCore

/// Mints one Google access token for a Vertex provider: the service-account JWT grant posted to
/// the key file's `token_uri` (or `token_url`), or a `GET` of the metadata server's token.
struct GoogleTokenMinter: Sendable {
    let credentials: VertexConfiguration.Credentials
    /// The resolved key file's text (service account); unused for the metadata server.
    let material: String?
    let proxy: String?
    let transport: any UpstreamTransport
    let clock: any WallClock
    let timeouts: TimeoutConfiguration

    /// Largest token answer read.
    static let maximumAnswerBytes = 64 * 1024

    func mint() async throws(AccessTokenFailure) -> AccessToken {
        let request: UpstreamRequest
        switch credentials {
        case .serviceAccount(let tokenURL):
            guard let material else {
                throw AccessTokenFailure(.credentials, "the service-account key file was not read")
            }
            let key = try GoogleServiceAccountKey(json: material)
            let assertion = try GoogleJWT.assertion(
                for: key, scope: VertexConfiguration.scope, issuedAt: clock.nowMillis() / 1000)
            request = GoogleTokenEndpoint.grantRequest(
                url: tokenURL ?? key.tokenURI, assertion: assertion, proxy: proxy, timeouts: timeouts)
        case .metadataServer(let baseURL):
            request = GoogleTokenEndpoint.metadataRequest(
                baseURL: baseURL, scope: VertexConfiguration.scope, timeouts: timeouts)
        case .accessToken, .apiKey:
            preconditionFailure("\(credentials) needs no minting")
        }
        do {
            let response = try await transport.send(request)
            let body = try await response.body.collect(upTo: Self.maximumAnswerBytes)
            return try GoogleTokenEndpoint.token(status: response.status, body: body, nowMillis: clock.nowMillis())
        } catch let failure as UpstreamFailure {
            throw AccessTokenFailure(
                .transport, "the token endpoint could not be reached (\(failure.kind.rawValue))",
                isTimeout: failure.isTimeout)
        } catch let failure as AccessTokenFailure {
            throw failure
        } catch {
            throw AccessTokenFailure(.transport, "the token request failed")
        }
    }
}

import Crypto
import Foundation
import NIOHTTP1
import _CryptoExtras

/// Google's OAuth2 token endpoint (`POST /token`, the JWT bearer grant of docs/wire/vertex.md §6.1)
/// and the metadata server's token (§6.2). The grant is checked as Google checks it: the form, the
/// grant type, the JWT's header, its RS256 signature against the service account's public key, and
/// its claims (`iss`, `aud`, `scope`, an `iat`/`exp` window of at most an hour around now).
extension VertexMockResponder {
    static let googleAudience = "https://oauth2.googleapis.com/token"
    static let cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"
    static let shortLivedMessage =
        "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your "
        + "iat and exp values in the JWT claim."

    func tokenGrant(_ request: MockRequest) -> MockReply {
        if let fault = tokens.nextFault(), let status = fault.status { return tokenFault(status: status) }
        guard request.method == .POST else { return oauthError(405, "invalid_request", "Method not allowed.") }
        let contentType = request.head.headers.first(name: "content-type") ?? ""
        guard contentType.lowercased().hasPrefix("application/x-www-form-urlencoded") else {
            return oauthError(400, "invalid_request", "Invalid Content-Type: \(contentType)")
        }
        let form = Self.form(String(decoding: request.body.readableBytesView, as: UTF8.self))
        let grantType = form["grant_type"] ?? ""
        guard grantType == "urn:ietf:params:oauth:grant-type:jwt-bearer" else {
            return oauthError(400, "unsupported_grant_type", "Invalid grant_type: \(grantType)")
        }
        guard let assertion = form["assertion"], !assertion.isEmpty else {
            return oauthError(400, "invalid_request", "Missing required parameter: assertion")
        }
        let host = request.head.headers.first(name: "host") ?? ""
        switch verify(assertion, ownAudience: "http://\(host)/token") {
        case .failure(let rejection):
            return oauthError(400, rejection.error, rejection.description)
        case .success:
            let lifetime = settings.tokenLifetimeSeconds
            let token = tokens.mint(acceptedFor: settings.tokenAcceptedSeconds ?? lifetime)
            return json(#"{"access_token":"\#(token)","expires_in":\#(lifetime),"token_type":"Bearer"}"#)
        }
    }

    struct GrantRejection: Error {
        var error = "invalid_grant"
        var description: String
    }

    /// Verifies the assertion's header, signature and claims.
    func verify(_ assertion: String, ownAudience: String) -> Result<Void, GrantRejection> {
        let pieces = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard pieces.count == 3, let headerData = Self.base64URL(pieces[0]),
            let payloadData = Self.base64URL(pieces[1]),
            let signature = Self.base64URL(pieces[2]),
            let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any],
            let claims = (try? JSONSerialization.jsonObject(with: payloadData)) as? [String: Any]
        else { return .failure(GrantRejection(description: "Invalid JWT: could not be decoded.")) }
        guard header["alg"] as? String == "RS256" else {
            return .failure(GrantRejection(description: "Invalid JWT: unsupported algorithm."))
        }
        guard let account = settings.serviceAccount, claims["iss"] as? String == account.clientEmail else {
            return .failure(GrantRejection(description: "Invalid grant: account not found"))
        }
        if let kid = header["kid"] as? String, kid != account.privateKeyID {
            return .failure(GrantRejection(description: "Invalid JWT Signature."))
        }
        let signed = Data((pieces[0] + "." + pieces[1]).utf8)
        guard
            account.publicKey.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: signed),
                padding: .insecurePKCS1v1_5)
        else { return .failure(GrantRejection(description: "Invalid JWT Signature.")) }
        guard let audience = claims["aud"] as? String, audience == Self.googleAudience || audience == ownAudience else {
            return .failure(GrantRejection(description: "Invalid JWT: Failed audience check."))
        }
        let scopes = (claims["scope"] as? String ?? "").split(separator: " ")
        guard scopes.contains(where: { $0 == Self.cloudPlatformScope }) else {
            return .failure(
                GrantRejection(
                    error: "invalid_scope", description: "Invalid OAuth scope or ID token audience provided."))
        }
        let now = Date().timeIntervalSince1970
        guard let iat = (claims["iat"] as? NSNumber)?.doubleValue, let exp = (claims["exp"] as? NSNumber)?.doubleValue,
            exp > iat, exp - iat <= 3600, iat <= now + 300, exp >= now - 300
        else { return .failure(GrantRejection(description: Self.shortLivedMessage)) }
        return .success(())
    }

    /// `GET /computeMetadata/v1/instance/service-accounts/default/token` (and the account and
    /// project ids), with `Metadata-Flavor: Google` required and answered.
    func metadata(_ request: MockRequest) -> MockReply {
        guard request.head.headers.first(name: "metadata-flavor") == "Google" else {
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "text/html; charset=UTF-8")
            return MockReply(
                status: .forbidden, headers: headers,
                body: .full("Missing required header: Metadata-Flavor\n"))
        }
        var reply: MockReply
        switch (request.method, String(request.path)) {
        case (.GET, "/computeMetadata/v1/instance/service-accounts/default/token"):
            if let fault = tokens.nextFault(), let status = fault.status { return tokenFault(status: status) }
            if let scopes = GeminiMockResponder.query(request)["scopes"],
                !scopes.split(separator: ",").contains(where: { $0 == Self.cloudPlatformScope })
            {
                return oauthError(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
            }
            let lifetime = settings.metadataTokenLifetimeSeconds
            let token = tokens.mint(acceptedFor: settings.tokenAcceptedSeconds ?? lifetime)
            reply = json(
                #"{"access_token":"\#(token)","expires_in":\#(lifetime),"token_type":"Bearer"}"#, pretty: false)
        case (.GET, "/computeMetadata/v1/instance/service-accounts/default/"):
            let email = settings.serviceAccount?.clientEmail ?? "default@\(settings.project).iam.gserviceaccount.com"
            reply = json(
                #"{"aliases":["default"],"email":"\#(email)","scopes":["\#(Self.cloudPlatformScope)"]}"#, pretty: false)
        case (.GET, "/computeMetadata/v1/project/project-id"):
            reply = MockReply(status: .ok, headers: ["content-type": "application/text"], body: .full(settings.project))
        default:
            reply = MockReply(
                status: .notFound, headers: ["content-type": "text/html; charset=UTF-8"], body: .full("Not Found\n"))
        }
        reply.headers.add(name: "metadata-flavor", value: "Google")
        return reply
    }

    /// `{"error","error_description"}`, pretty-printed as Google's token endpoint sends it.
    func oauthError(_ status: Int, _ error: String, _ description: String) -> MockReply {
        var reply = json(
            #"{"error":"# + MockJSON.quoted(error) + #","error_description":"# + MockJSON.quoted(description) + "}")
        reply.status = HTTPResponseStatus(statusCode: status)
        return reply
    }

    private func tokenFault(status: Int) -> MockReply {
        switch status {
        case 429: oauthError(429, "rate_limit_exceeded", "Rate limit exceeded.")
        case 503: oauthError(503, "temporarily_unavailable", "The service is currently unavailable.")
        case 500...599: oauthError(status, "internal_failure", "Backend Error")
        default: oauthError(status, "invalid_request", "Request failed (injected by llmgw-mock).")
        }
    }

    private func json(_ compact: String, pretty: Bool = true) -> MockReply {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json; charset=utf-8")
        headers.add(name: "cache-control", value: "no-cache, no-store, max-age=0, must-revalidate")
        return MockReply(status: .ok, headers: headers, body: .full(pretty ? GeminiMockJSON.pretty(compact) : compact))
    }

    static func form(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            result[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return result
    }

    static func base64URL(_ text: Substring) -> Data? {
        guard !text.contains("="), !text.contains("+"), !text.contains("/") else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}

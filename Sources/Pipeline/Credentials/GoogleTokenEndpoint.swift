import Dialects
import GatewayCore

/// The two places Google access tokens come from (docs/wire/vertex.md §6.1, §6.2), as upstream
/// requests, and their answers read into an `AccessToken`.
enum GoogleTokenEndpoint {
    static let jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"
    static let metadataTokenPath = "/computeMetadata/v1/instance/service-accounts/default/token"

    /// `POST token_uri` with `assertion=…&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer`
    /// (google-auth's order), form-encoded.
    static func grantRequest(
        url: String, assertion: String, proxy: String?, timeouts: TimeoutConfiguration
    ) -> UpstreamRequest {
        let body = "assertion=" + formEncoded(assertion) + "&grant_type=" + formEncoded(jwtBearerGrant)
        return UpstreamRequest(
            method: "POST",
            url: url,
            proxy: proxy,
            headers: [("content-type", "application/x-www-form-urlencoded"), ("accept", "application/json")],
            body: Array(body.utf8),
            timeouts: timeouts
        )
    }

    /// `GET {base}/computeMetadata/v1/instance/service-accounts/default/token?scopes=…` with
    /// `Metadata-Flavor: Google`. Never through a proxy: the server is link-local.
    static func metadataRequest(baseURL: String, scope: String, timeouts: TimeoutConfiguration) -> UpstreamRequest {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return UpstreamRequest(
            method: "GET",
            url: base + metadataTokenPath + "?scopes=" + formEncoded(scope),
            headers: [("metadata-flavor", "Google")],
            body: [],
            timeouts: timeouts
        )
    }

    /// Reads a token answer: `{"access_token","expires_in","token_type"}` (`expires_in` a number
    /// or a numeric string). An error answer (`{"error","error_description"}`) becomes a refusal
    /// naming them; neither holds a secret. The token is never put in an error.
    static func token(status: Int, body: [UInt8], nowMillis: Int64) throws(AccessTokenFailure) -> AccessToken {
        let root = try? JSONScanner.parse(body)
        guard (200..<300).contains(status) else {
            var detail = "the token endpoint answered HTTP \(status)"
            if let error = root?["error"] {
                // OAuth2's `{"error":"invalid_grant","error_description":…}` or Google's status object.
                let code = error.string ?? error["status"]?.string
                let text = root?["error_description"]?.string ?? error["message"]?.string
                detail += " (" + [code, text].compactMap { $0 }.joined(separator: ": ") + ")"
            }
            throw AccessTokenFailure(.refused, AttemptContext.truncate(detail))
        }
        guard let token = root?["access_token"]?.string, !token.isEmpty else {
            throw AccessTokenFailure(.refused, "the token endpoint's answer has no access_token")
        }
        let expiresIn = root?["expires_in"]?.int64 ?? root?["expires_in"]?.string.flatMap { Int64($0) }
        guard let expiresIn, expiresIn > 0, expiresIn <= 86_400 * 7 else {
            throw AccessTokenFailure(.refused, "the token endpoint's answer has no usable expires_in")
        }
        return AccessToken(value: token, issuedAtMillis: nowMillis, expiresAtMillis: nowMillis + expiresIn * 1000)
    }

    /// `application/x-www-form-urlencoded` value: unreserved characters kept, the rest percent-encoded.
    static func formEncoded(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                output += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return output
    }
}

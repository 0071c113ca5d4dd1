import Crypto
import Dialects
import Foundation
import _CryptoExtras

/// The signed JWT of Google's service-account grant (RFC 7523), byte for byte as google-auth
/// builds it (docs/wire/vertex.md §6.1): `json.dumps` separators (`", "`, `": "`), base64url
/// without padding, RSASSA-PKCS1-v1_5 with SHA-256 over `header.payload`.
///
///     header  {"typ": "JWT", "alg": "RS256", "kid": "<private_key_id>"}
///     payload {"iat": N, "exp": N+3600, "iss": "<client_email>", "aud": "https://oauth2.googleapis.com/token",
///              "scope": "https://www.googleapis.com/auth/cloud-platform"}
enum GoogleJWT {
    /// Google accepts at most an hour.
    static let lifetimeSeconds: Int64 = 3600

    /// The grant assertion for `key`, issued at `issuedAt` (seconds since the epoch).
    static func assertion(
        for key: GoogleServiceAccountKey, scope: String, issuedAt: Int64
    ) throws(AccessTokenFailure) -> String {
        let signingInput = signingInput(for: key, scope: scope, issuedAt: issuedAt)
        let privateKey: _RSA.Signing.PrivateKey
        do {
            privateKey = try _RSA.Signing.PrivateKey(pemRepresentation: key.privateKeyPEM)
        } catch {
            throw AccessTokenFailure(
                .credentials, "the service-account private_key is not a usable RSA key (2048 bits or more)")
        }
        do {
            let signature = try privateKey.signature(
                for: SHA256.hash(data: Array(signingInput.utf8)), padding: .insecurePKCS1v1_5)
            return signingInput + "." + Base64URL.encode(signature.rawRepresentation)
        } catch {
            throw AccessTokenFailure(.credentials, "signing the service-account JWT failed")
        }
    }

    /// `base64url(header) + "." + base64url(payload)`.
    static func signingInput(for key: GoogleServiceAccountKey, scope: String, issuedAt: Int64) -> String {
        var header = #"{"typ": "JWT", "alg": "RS256""#
        if let kid = key.privateKeyID { header += #", "kid": "# + quoted(kid) }
        header += "}"
        let payload =
            #"{"iat": \#(issuedAt), "exp": \#(issuedAt + lifetimeSeconds), "iss": "# + quoted(key.clientEmail)
            + #", "aud": "# + quoted(GoogleServiceAccountKey.audience) + #", "scope": "# + quoted(scope) + "}"
        return Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
    }

    private static func quoted(_ text: String) -> String {
        String(decoding: JSONScanner.quoted(text), as: UTF8.self)
    }
}

/// Base64url without padding (RFC 4648 §5), as JWTs use it.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            for shift in [18, 12, 6, 0] { output.append(alphabet[Int(value >> UInt32(shift) & 0x3F)]) }
            index += 3
        }
        let rest = input.count - index
        if rest > 0 {
            var value = UInt32(input[index]) << 16
            if rest == 2 { value |= UInt32(input[index + 1]) << 8 }
            for shift in [18, 12, 6, 0].prefix(rest + 1) { output.append(alphabet[Int(value >> UInt32(shift) & 0x3F)]) }
        }
        return String(decoding: output, as: UTF8.self)
    }
}

import Dialects
import GatewayCore

/// A Google service-account JSON key file (docs/wire/vertex.md §6.1), reduced to what the JWT
/// bearer grant needs. It holds the private key: never printed (`description` is redacted), never
/// logged, kept only in the keyring's memory.
struct GoogleServiceAccountKey: Sendable, CustomStringConvertible, CustomReflectable {
    /// `client_email`: the JWT's `iss`.
    let clientEmail: String
    /// `private_key_id`: the JWT header's `kid`, when the file has one.
    let privateKeyID: String?
    /// `private_key`: PEM, PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    let privateKeyPEM: String
    /// `token_uri`: where the grant is posted.
    let tokenURI: String

    /// The constant `aud` of every grant, whatever `token_uri` says (google-auth's behaviour).
    static let audience = "https://oauth2.googleapis.com/token"

    var description: String { "GoogleServiceAccountKey(\(clientEmail))" }
    var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Reads the file's text. The error names the missing or wrong field, never a value.
    init(json text: String) throws(AccessTokenFailure) {
        let bytes = Array(text.utf8)
        guard case .object(let root)? = try? JSONScanner.parse(bytes) else {
            throw AccessTokenFailure(.credentials, "the service-account key file is not a JSON object")
        }
        if let type = root["type"]?.string, type != "service_account" {
            throw AccessTokenFailure(
                .credentials, "the key file's type is \"\(type)\", not service_account")
        }
        func field(_ name: String) throws(AccessTokenFailure) -> String {
            guard let value = root[name]?.string, !value.isEmpty else {
                throw AccessTokenFailure(.credentials, "the service-account key file has no \(name)")
            }
            return value
        }
        clientEmail = try field("client_email")
        privateKeyPEM = try field("private_key")
        tokenURI = try field("token_uri")
        privateKeyID = root["private_key_id"]?.string
    }
}

import Crypto
import Foundation
import Testing
import _CryptoExtras

@testable import Pipeline

/// The service-account JWT: google-auth's exact bytes, a signature the key's public half verifies.
@Suite struct GoogleJWTTests {
    static func keyFile(_ key: _RSA.Signing.PrivateKey, tokenURI: String = "http://127.0.0.1:9/token") -> String {
        let pem = key.pkcs8PEMRepresentation.replacingOccurrences(of: "\n", with: "\\n")
        return #"{"type":"service_account","project_id":"p","private_key_id":"abc123","private_key":"\#(pem)","#
            + #""client_email":"sa@p.iam.gserviceaccount.com","token_uri":"\#(tokenURI)"}"#
    }

    static func decode(_ text: Substring) throws -> Data {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return try #require(Data(base64Encoded: base64))
    }

    @Test func theHeaderAndClaimsAreGoogleAuthsBytes() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let account = try GoogleServiceAccountKey(json: Self.keyFile(key))
        let assertion = try GoogleJWT.assertion(
            for: account, scope: "https://www.googleapis.com/auth/cloud-platform", issuedAt: 1_796_187_639)
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        #expect(parts.count == 3)
        #expect(!assertion.contains("="))
        #expect(
            String(decoding: try Self.decode(parts[0]), as: UTF8.self)
                == #"{"typ": "JWT", "alg": "RS256", "kid": "abc123"}"#)
        #expect(
            String(decoding: try Self.decode(parts[1]), as: UTF8.self)
                == #"{"iat": 1796187639, "exp": 1796191239, "iss": "sa@p.iam.gserviceaccount.com", "#
                + #""aud": "https://oauth2.googleapis.com/token", "#
                + #""scope": "https://www.googleapis.com/auth/cloud-platform"}"#)
    }

    @Test func theSignatureVerifiesWithThePublicKeyAndOnlyOverItsOwnInput() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let account = try GoogleServiceAccountKey(json: Self.keyFile(key))
        let assertion = try GoogleJWT.assertion(for: account, scope: "s", issuedAt: 100)
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        let signature = _RSA.Signing.RSASignature(rawRepresentation: try Self.decode(parts[2]))
        let input = Data((parts[0] + "." + parts[1]).utf8)
        #expect(
            key.publicKey.isValidSignature(
                signature, for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5))
        #expect(
            !key.publicKey.isValidSignature(
                signature, for: SHA256.hash(data: input + Data("x".utf8)), padding: .insecurePKCS1v1_5))
        let other = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        #expect(
            !other.publicKey.isValidSignature(signature, for: SHA256.hash(data: input), padding: .insecurePKCS1v1_5))
    }

    @Test func aPKCS1KeyIsReadToo() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        var text = Self.keyFile(key)
        text = text.replacingOccurrences(
            of: key.pkcs8PEMRepresentation.replacingOccurrences(of: "\n", with: "\\n"),
            with: key.pemRepresentation.replacingOccurrences(of: "\n", with: "\\n"))
        #expect(text.contains("BEGIN RSA PRIVATE KEY"))
        let account = try GoogleServiceAccountKey(json: text)
        #expect(throws: Never.self) { try GoogleJWT.assertion(for: account, scope: "s", issuedAt: 1) }
    }

    @Test func badKeyFilesNameTheFieldNeverTheSecret() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let good = Self.keyFile(key)
        let cases: [(String, String)] = [
            ("not json", "not a JSON object"),
            (good.replacingOccurrences(of: #""client_email""#, with: #""email""#), "no client_email"),
            (good.replacingOccurrences(of: #""token_uri""#, with: #""uri""#), "no token_uri"),
            (good.replacingOccurrences(of: "service_account", with: "authorized_user"), "authorized_user"),
        ]
        for (text, expected) in cases {
            #expect {
                try GoogleServiceAccountKey(json: text)
            } throws: { error in
                (error as? AccessTokenFailure)?.detail.contains(expected) == true
            }
        }
        let broken = good.replacingOccurrences(of: "MII", with: "XYZ")
        let account = try GoogleServiceAccountKey(json: broken)
        #expect(!"\(account)".contains("PRIVATE KEY"))
        #expect {
            try GoogleJWT.assertion(for: account, scope: "s", issuedAt: 1)
        } throws: { error in
            let detail = (error as? AccessTokenFailure)?.detail ?? ""
            return detail.contains("not a usable RSA key") && !detail.contains("XYZ")
        }
    }

    @Test func base64URLHasNoPadding() {
        #expect(Base64URL.encode(Array("".utf8)) == "")
        #expect(Base64URL.encode(Array("f".utf8)) == "Zg")
        #expect(Base64URL.encode(Array("fo".utf8)) == "Zm8")
        #expect(Base64URL.encode(Array("foo".utf8)) == "Zm9v")
        #expect(Base64URL.encode([0xFB, 0xFF, 0xBF]) == "-_-_")
    }
}

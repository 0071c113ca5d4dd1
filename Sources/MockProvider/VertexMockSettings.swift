import Crypto
import Foundation
import _CryptoExtras

/// How the Vertex AI mock behaves: which project and locations exist, whose JWTs its token endpoint
/// accepts, how long its tokens live, and where a Claude stream carries `vertex_event`.
public struct VertexMockSettings: Sendable {
    /// Where `vertex_event` sits in a Claude stream (its real position is not documented).
    public enum VertexEventPosition: Sendable {
        case none
        case afterMessageStart
        case beforeMessageStop
    }

    public var project = "llmgw-test"
    /// The project's number, also accepted in paths (errors echo it).
    public var projectNumber = "740989871600"
    public var locations = ["global", "us-central1", "us-east5", "europe-west1"]
    /// The service account whose JWT grants the token endpoint honours; nil refuses every grant.
    public var serviceAccount: VertexMockServiceAccount?
    /// `expires_in` of a token minted from a JWT grant (Google's recorded value).
    public var tokenLifetimeSeconds = 3599
    /// `expires_in` of a metadata-server token (whatever its cache has left; 1967 s was seen).
    public var metadataTokenLifetimeSeconds = 1967
    /// Tokens stop being accepted this long after minting, whatever `expires_in` said (a revoked or
    /// early-expired token); nil: when they expire.
    public var tokenAcceptedSeconds: Int?
    /// Faults of the token endpoint and the metadata server (the `MockFaultSpec` grammar; only
    /// `status` and `retry_after` apply there).
    public var tokenFaults = ""
    public var vertexEvent = VertexEventPosition.afterMessageStart
    /// The API key express mode accepts; nil: express mode is off.
    public var expressAPIKey: String?

    public init() {}
}

/// A service account for tests: a fresh 2048-bit RSA key made at test time (never committed), its
/// public half for the mock's signature check, and the key file a gateway is given.
public struct VertexMockServiceAccount: Sendable {
    public let clientEmail: String
    public let privateKeyID: String
    /// PKCS#8 PEM (`BEGIN PRIVATE KEY`), as Google's key files carry it.
    public let privateKeyPEM: String
    let publicKey: _RSA.Signing.PublicKey

    /// A new key pair for `project`.
    public static func generate(project: String = "llmgw-test", name: String = "llmgw-e2e") throws -> Self {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let id = SHA256.hash(data: Data(key.publicKey.derRepresentation)).prefix(20)
            .map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        return Self(
            clientEmail: "\(name)@\(project).iam.gserviceaccount.com", privateKeyID: id,
            privateKeyPEM: key.pkcs8PEMRepresentation, publicKey: key.publicKey)
    }

    /// The JSON key file (docs/wire/vertex.md §6.1) with `token_uri` pointing where the caller says.
    public func keyFile(project: String = "llmgw-test", tokenURI: String) -> String {
        #"{"type":"service_account","project_id":"# + MockJSON.quoted(project) + #","private_key_id":"#
            + MockJSON.quoted(privateKeyID) + #","private_key":"# + MockJSON.quoted(privateKeyPEM)
            + #","client_email":"# + MockJSON.quoted(clientEmail) + #","client_id":"104857937461839025371","#
            + #""auth_uri":"https://accounts.google.com/o/oauth2/auth","token_uri":"# + MockJSON.quoted(tokenURI)
            + #","auth_provider_x509_cert_url":"https://www.googleapis.com/oauth2/v1/certs","#
            + #""client_x509_cert_url":"https://www.googleapis.com/robot/v1/metadata/x509/"#
            + clientEmail.replacingOccurrences(of: "@", with: "%40") + #"","universe_domain":"googleapis.com"}"#
    }
}

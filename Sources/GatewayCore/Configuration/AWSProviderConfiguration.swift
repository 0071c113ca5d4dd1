/// `kind: bedrock` settings beyond the common provider keys: the region (for the default base URL
/// and the SigV4 scope) and where the AWS credentials come from. With `api_key` (a Bedrock API
/// key, sent as `Authorization: Bearer`) none of the credential keys apply.
///
/// Credentials, when no `api_key` is set: `aws_access_key_id` with `aws_secret_access_key` (and
/// optionally `aws_session_token`), each a secret reference; else the profile `aws_profile` of the
/// shared credentials file; else the standard chain: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, then the profile `AWS_PROFILE` (or `default`) of `AWS_SHARED_CREDENTIALS_FILE`
/// (or `~/.aws/credentials`).
public struct AWSProviderConfiguration: Sendable, Equatable {
    /// `region`, e.g. `us-east-1`.
    public var region: String
    public var accessKeyID: SecretReference?
    public var secretAccessKey: SecretReference?
    public var sessionToken: SecretReference?
    /// `aws_profile`: a profile of the shared credentials file.
    public var profile: String?

    public init(
        region: String,
        accessKeyID: SecretReference? = nil,
        secretAccessKey: SecretReference? = nil,
        sessionToken: SecretReference? = nil,
        profile: String? = nil
    ) {
        self.region = region
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.profile = profile
    }

    /// `https://bedrock-runtime.{region}.amazonaws.com`.
    public static func runtimeURL(region: String) -> String {
        "https://bedrock-runtime.\(region).amazonaws.com"
    }

    /// The region in a `bedrock-runtime.{region}.amazonaws.com` URL, if it is one.
    public static func region(inURL url: String) -> String? {
        guard let start = url.range(of: "://bedrock-runtime.")?.upperBound else { return nil }
        let rest = url[start...]
        guard let end = rest.firstIndex(of: ".") else { return nil }
        let region = rest[..<end]
        return region.isEmpty ? nil : String(region)
    }
}

/// AWS credentials, resolved. Printing, dumping or mirroring them shows `<redacted>`: only the
/// SigV4 signer reads the fields.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    public let accessKeyID: String
    public let secretAccessKey: String
    public let sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken.flatMap { $0.isEmpty ? nil : $0 }
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// The credentials of `provider` as entries of the provider keyring (which maps names to
    /// secrets): `provider/aws_access_key_id` and so on. Provider names never hold `/`, so these
    /// never collide with a provider's own `api_key`; kept there, the keyring also scrubs each of
    /// them from relayed provider errors.
    public func keyringEntries(provider: String) -> [String: ResolvedSecret] {
        var entries = [
            Self.entryName(provider, "aws_access_key_id"): ResolvedSecret(accessKeyID),
            Self.entryName(provider, "aws_secret_access_key"): ResolvedSecret(secretAccessKey),
        ]
        if let sessionToken { entries[Self.entryName(provider, "aws_session_token")] = ResolvedSecret(sessionToken) }
        return entries
    }

    /// The credentials of `provider` read back from keyring entries; nil when there are none.
    public init?(provider: String, keyring lookup: (String) -> String?) {
        guard let id = lookup(Self.entryName(provider, "aws_access_key_id")),
            let secret = lookup(Self.entryName(provider, "aws_secret_access_key"))
        else { return nil }
        self.init(
            accessKeyID: id, secretAccessKey: secret,
            sessionToken: lookup(Self.entryName(provider, "aws_session_token")))
    }

    static func entryName(_ provider: String, _ field: String) -> String { provider + "/" + field }
}

/// Sign this request with AWS Signature Version 4 when it is sent (`UpstreamRequest.awsSigning`):
/// the signature covers the time, so it is computed at send time, with the provider's credentials
/// from the keyring.
public struct AWSSigningScope: Sendable, Equatable {
    public var region: String
    /// The signing name: `bedrock` (runtime), `bedrock-mantle`.
    public var service: String

    public init(region: String, service: String) {
        self.region = region
        self.service = service
    }
}

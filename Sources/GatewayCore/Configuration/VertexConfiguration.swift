/// `kind: vertex`: Google Vertex AI. Gemini models are reached through `:generateContent` and
/// `:streamGenerateContent?alt=sse`, Claude models through `:rawPredict` and `:streamRawPredict`,
/// both under `/{v1|v1beta1}/projects/{project}/locations/{location}/publishers/{publisher}/models/{model}`
/// (docs/wire/vertex.md §1). Which publisher serves a model is `publisher` when it is set, else
/// read from the model's name: `claude-…` is Anthropic's, anything else Google's.
public struct VertexConfiguration: Sendable, Equatable {
    /// Who publishes a model in Vertex's Model Garden: the path segment and the wire format.
    public enum Publisher: String, Sendable, CaseIterable {
        /// Gemini: the `generateContent` body (docs/wire/gemini.md).
        case google
        /// Claude: the Anthropic Messages body with `anthropic_version` and without `model`.
        case anthropic
    }

    /// Where the gateway's credential for Vertex comes from. The secret itself (key file contents,
    /// token, API key) is resolved like every provider key, at start and on SIGHUP, and never logged.
    public enum Credentials: Sendable, Equatable {
        /// `credentials_file: PATH`: a service-account JSON key. OAuth2 access tokens are minted
        /// from it with the JWT bearer grant (RFC 7523) at its `token_uri`, or at `tokenURL`.
        case serviceAccount(tokenURL: String?)
        /// `metadata_server: true` (or the server's base URL): tokens from the GCE/GKE/Cloud Run
        /// metadata server of the workload's service account.
        case metadataServer(baseURL: String)
        /// `access_token:`: a bearer token kept fresh outside the gateway (re-read on SIGHUP).
        case accessToken
        /// `api_key:`: a Vertex API key (express mode): `x-goog-api-key` on the express paths,
        /// which have no project or location and serve Gemini models only.
        case apiKey

        /// The config key that holds the secret, for error paths.
        public var configKey: String? {
            switch self {
            case .serviceAccount: "credentials_file"
            case .metadataServer: nil
            case .accessToken: "access_token"
            case .apiKey: "api_key"
            }
        }

        /// OAuth2 tokens are minted (and cached) by the gateway.
        public var mintsTokens: Bool {
            switch self {
            case .serviceAccount, .metadataServer: true
            case .accessToken, .apiKey: false
            }
        }
    }

    public static let defaultLocation = "global"
    public static let defaultAPIVersion = "v1"
    public static let apiVersions = ["v1", "v1beta1"]
    public static let defaultMetadataServer = "http://metadata.google.internal"
    /// The OAuth2 scope every token is asked for.
    public static let scope = "https://www.googleapis.com/auth/cloud-platform"

    /// The project id or number; nil only in express mode.
    public var project: String?
    public var location: String
    /// `v1` (default) or `v1beta1`.
    public var apiVersion: String
    /// Every model of this provider is this publisher's; nil reads it from the model name.
    public var publisher: Publisher?
    public var credentials: Credentials

    public init(
        project: String?,
        location: String = Self.defaultLocation,
        apiVersion: String = Self.defaultAPIVersion,
        publisher: Publisher? = nil,
        credentials: Credentials
    ) {
        self.project = project
        self.location = location
        self.apiVersion = apiVersion
        self.publisher = publisher
        self.credentials = credentials
    }

    /// The publisher of `model`: the configured one, else `anthropic` for `claude-…` names and
    /// `google` for every other.
    public func publisher(forModel model: String) -> Publisher {
        publisher ?? (model.hasPrefix("claude-") ? .anthropic : .google)
    }

    /// The API host for a location (docs/wire/vertex.md §1): `global` and express mode use
    /// `aiplatform.googleapis.com`, the multi-regions `us`/`eu` their `rep` hosts, a region
    /// `{region}-aiplatform.googleapis.com`.
    public static func defaultBaseURL(location: String, express: Bool) -> String {
        if express || location == "global" { return "https://aiplatform.googleapis.com" }
        if location == "us" || location == "eu" { return "https://aiplatform.\(location).rep.googleapis.com" }
        return "https://\(location)-aiplatform.googleapis.com"
    }

    /// A location or project id as it may appear in a path: letters, digits and `-`.
    public static func isPathName(_ text: String) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-")
            }
    }
}

/// The provider API a mock server speaks.
public enum MockDialect: String, Sendable, CaseIterable {
    /// OpenAI Chat Completions, embeddings and models (also every OpenAI-compatible server).
    case openai
    /// Anthropic Messages, token counting and models (`x-api-key`, `anthropic-version`).
    case anthropic
    /// Gemini API `generateContent` / `streamGenerateContent` (`x-goog-api-key` or `?key=`).
    case gemini
    /// Azure OpenAI chat completions on deployment and v1 paths (`api-key`, content-filter annotations).
    case azure
    /// Google Vertex AI: Gemini and Claude models, its OAuth2 token endpoint (JWTs verified) and
    /// the metadata server (`VertexMockSettings`).
    case vertex
    /// AWS Bedrock Runtime Converse / ConverseStream (SigV4 verified, or a Bedrock API key as Bearer).
    case bedrock
}

/// Where a mock server listens.
public enum MockListenAddress: Sendable {
    /// Loopback TCP; port 0 picks a free port (read it back from `MockProviderServer.port`).
    case tcp(host: String, port: Int)
    /// A Unix domain socket; an existing socket file at the path is replaced.
    case unix(path: String)
}

/// How a mock server behaves.
public struct MockProviderConfiguration: Sendable {
    /// The provider API to imitate.
    public var dialect: MockDialect
    /// Faults applied to every API request, in the grammar of `MockFaultSpec` (empty: none).
    public var faults: String
    /// The only key accepted when set; any non-empty bearer key is accepted otherwise.
    public var apiKey: String?
    /// Event-loop threads serving connections; one is plenty for tests and keeps benchmarks honest.
    public var threads: Int
    /// How many of the most recent requests `MockStats.recentRequests` keeps.
    public var recentRequestLimit: Int
    /// Gemini SSE events end in `\r\n\r\n` (as observed, the default) when true, `\n\n` when false.
    public var geminiCRLF: Bool
    /// The Vertex AI dialect's project, service account, token lifetimes and options.
    public var vertex: VertexMockSettings
    /// Bedrock: the AWS credentials and region SigV4 signatures are verified against.
    public var aws: MockAWSCredentials?

    public init(dialect: MockDialect = .openai, faults: String = "", apiKey: String? = nil) {
        self.dialect = dialect
        self.faults = faults
        self.apiKey = apiKey
        self.threads = 1
        self.recentRequestLimit = 64
        self.geminiCRLF = true
        self.vertex = VertexMockSettings()
    }
}

/// The one identity the Bedrock mock accepts SigV4 signatures from.
public struct MockAWSCredentials: Sendable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// When set, requests must carry it as `x-amz-security-token` (signed).
    public var sessionToken: String?
    public var region: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, region: String = "us-east-1")
    {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.region = region
    }
}

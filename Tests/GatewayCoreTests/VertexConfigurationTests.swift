import GatewayCore
import Testing

/// `kind: vertex`: credentials, project, location, publisher, and their errors.
@Suite struct VertexConfigurationTests {
    static func yaml(_ provider: String) -> String {
        """
        providers:
          vx: \(provider)
        models:
          - name: smart
            targets: [{ provider: vx, model: gemini-2.5-flash }]
        """
    }

    static func provider(_ text: String) throws -> ProviderConfiguration {
        let configuration = try GatewayConfiguration.parse(yaml: yaml(text), source: "config.yaml")
        return try #require(configuration.providers.first)
    }

    @Test func aServiceAccountProviderDefaultsToTheGlobalLocation() throws {
        let provider = try Self.provider(
            "{ kind: vertex, project: my-project, credentials_file: /run/secrets/sa.json }")
        #expect(provider.kind == .vertex)
        #expect(provider.baseURL == "https://aiplatform.googleapis.com")
        #expect(provider.apiKey == .file("/run/secrets/sa.json"))
        #expect(
            provider.vertex
                == VertexConfiguration(
                    project: "my-project", location: "global", apiVersion: "v1",
                    credentials: .serviceAccount(tokenURL: nil)))
    }

    @Test func aRegionGetsItsHostAndEveryOptionIsRead() throws {
        let provider = try Self.provider(
            "{ kind: vertex, project: \"740989871600\", location: us-east5, publisher: anthropic, api_version: v1beta1, "
                + "credentials_file: sa.json, token_url: \"http://127.0.0.1:9/token\" }")
        #expect(provider.baseURL == "https://us-east5-aiplatform.googleapis.com")
        let vertex = try #require(provider.vertex)
        #expect(vertex.project == "740989871600")
        #expect(vertex.apiVersion == "v1beta1")
        #expect(vertex.publisher == .anthropic)
        #expect(vertex.credentials == .serviceAccount(tokenURL: "http://127.0.0.1:9/token"))
    }

    @Test func theOtherCredentials() throws {
        let metadata = try Self.provider("{ kind: vertex, project: p, metadata_server: true }")
        #expect(metadata.vertex?.credentials == .metadataServer(baseURL: "http://metadata.google.internal"))
        #expect(metadata.apiKey == nil)
        let local = try Self.provider("{ kind: vertex, project: p, metadata_server: \"http://127.0.0.1:8080/\" }")
        #expect(local.vertex?.credentials == .metadataServer(baseURL: "http://127.0.0.1:8080"))
        let token = try Self.provider("{ kind: vertex, project: p, location: europe-west1, access_token: env:TOKEN }")
        #expect(token.vertex?.credentials == .accessToken)
        #expect(token.apiKey == .environment("TOKEN"))
        let express = try Self.provider("{ kind: vertex, api_key: env:VERTEX_KEY, location: us-central1 }")
        #expect(express.vertex?.credentials == .apiKey)
        #expect(express.vertex?.project == nil)
        #expect(express.baseURL == "https://aiplatform.googleapis.com")
    }

    @Test func mistakesAreReportedWithTheirPaths() {
        #expect(
            renderedErrors(Self.yaml("{ kind: vertex, project: p }")).contains(
                "providers.vx: required: one of credentials_file, metadata_server, access_token, api_key"))
        #expect(
            renderedErrors(Self.yaml("{ kind: vertex, project: p, api_key: k, access_token: t }")).contains(
                "only one credential may be given (found: access_token, api_key)"))
        #expect(
            renderedErrors(Self.yaml("{ kind: vertex, credentials_file: sa.json }")).contains(
                "providers.vx.project: required"))
        #expect(
            renderedErrors(Self.yaml("{ kind: vertex, project: \"a/b\", credentials_file: sa.json }")).contains(
                "providers.vx.project: expected a project id or number"))
        #expect(
            renderedErrors(Self.yaml("{ kind: vertex, project: p, location: \"us central\", credentials_file: f }"))
                .contains("providers.vx.location: expected a location"))
        #expect(
            renderedErrors(Self.yaml("{ kind: vertex, project: p, publisher: meta, credentials_file: f }")).contains(
                "providers.vx.publisher: unknown value \"meta\""))
        #expect(
            renderedErrors(Self.yaml("{ kind: vertex, project: p, api_version: v2, credentials_file: f }")).contains(
                "providers.vx.api_version: unknown value \"v2\" (expected one of: v1, v1beta1)"))
        #expect(
            renderedErrors(Self.yaml("{ kind: vertex, project: p, metadata_server: true, token_url: \"http://x\" }"))
                .contains("providers.vx.token_url: token_url applies to credentials_file only"))
        #expect(
            renderedErrors(Self.yaml("{ kind: openai, project: p }")).contains(
                "providers.vx.project: project applies to kind vertex only"))
    }

    @Test func aSecretErrorNamesTheKeyItCameFrom() throws {
        let configuration = try GatewayConfiguration.parse(
            yaml: Self.yaml("{ kind: vertex, project: p, credentials_file: /nonexistent/sa.json }"),
            source: "config.yaml")
        #expect {
            try SecretResolver(environment: [:]).resolveKeys(of: configuration)
        } throws: { error in
            "\(error)".contains("providers.vx.credentials_file") && "\(error)".contains("/nonexistent/sa.json")
        }
    }
}

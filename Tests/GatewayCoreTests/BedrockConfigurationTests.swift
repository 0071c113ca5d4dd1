import Testing

@testable import GatewayCore

/// `kind: bedrock` and `kind: bedrock-openai` in the config, and where AWS credentials come from.
@Suite struct BedrockConfigurationTests {
    static func provider(_ keys: String) throws -> ProviderConfiguration {
        let configuration = try GatewayConfiguration.parse(
            yaml: """
                providers: { aws: { kind: bedrock, \(keys) } }
                models: [{ name: m, targets: [{ provider: aws, model: "anthropic.claude-3-haiku-20240307-v1:0" }] }]
                """,
            source: "config.yaml")
        return try #require(configuration.provider(named: "aws"))
    }

    static func errors(_ keys: String) -> String {
        renderedErrors(
            """
            providers: { aws: { kind: bedrock, \(keys) } }
            models: [{ name: m, targets: [{ provider: aws, model: x }] }]
            """)
    }

    @Test func theRegionGivesTheRuntimeURL() throws {
        let provider = try Self.provider("region: eu-central-1")
        #expect(provider.kind == .bedrock)
        #expect(provider.baseURL == "https://bedrock-runtime.eu-central-1.amazonaws.com")
        #expect(provider.aws == AWSProviderConfiguration(region: "eu-central-1"))
    }

    @Test func credentialsAreSecretReferences() throws {
        let provider = try Self.provider(
            #"region: us-east-1, aws_access_key_id: "env:ID", aws_secret_access_key: "file:/run/secret", aws_session_token: "env:TOKEN""#
        )
        #expect(provider.aws?.accessKeyID == .environment("ID"))
        #expect(provider.aws?.secretAccessKey == .file("/run/secret"))
        #expect(provider.aws?.sessionToken == .environment("TOKEN"))
    }

    @Test func aRuntimeBaseURLNamesTheRegion() throws {
        let provider = try Self.provider("base_url: https://bedrock-runtime.ap-south-1.amazonaws.com")
        #expect(provider.aws?.region == "ap-south-1")
    }

    @Test func mistakesAreNamed() {
        #expect(Self.errors("aws_profile: dev").contains("providers.aws.region: required (for kind bedrock"))
        #expect(
            Self.errors(#"region: us-east-1, aws_access_key_id: "env:ID""#).contains(
                "providers.aws.aws_secret_access_key: required (the two go together)"))
        #expect(
            Self.errors(#"region: us-east-1, api_key: "env:K", aws_profile: dev"#).contains(
                "aws_profile cannot be combined with api_key"))
        #expect(Self.errors("region: US_EAST").contains("providers.aws.region: expected an AWS region name"))
        #expect(
            Self.errors("base_url: http://127.0.0.1:9").contains(
                "providers.aws.region: required (SigV4 signs for a region"))
        #expect(Self.errors(#"base_url: http://127.0.0.1:9, api_key: "env:K""#).isEmpty)
        #expect(
            renderedErrors(
                """
                providers: { o: { kind: openai, region: us-east-1 } }
                models: [{ name: m, targets: [{ provider: o, model: x }] }]
                """
            ).contains("region applies to kind bedrock and bedrock-openai only"))
    }

    @Test func awsCredentialKeysBelongToKindBedrock() {
        #expect(
            renderedErrors(
                """
                providers: { b: { kind: bedrock-openai, aws_profile: dev } }
                models: [{ name: m, targets: [{ provider: b, model: x }] }]
                """
            ).contains("providers.b.aws_profile: aws_profile applies to kind bedrock only"))
    }

    @Test func theOpenAICompatiblePresetTakesARegion() throws {
        let configuration = try GatewayConfiguration.parse(
            yaml: """
                providers: { b: { kind: bedrock-openai, region: us-west-2, api_key: "env:AWS_BEARER_TOKEN_BEDROCK" } }
                models: [{ name: m, targets: [{ provider: b, model: openai.gpt-oss-20b-1:0 }] }]
                """,
            source: "config.yaml")
        let provider = try #require(configuration.provider(named: "b"))
        #expect(provider.kind == .openai)
        #expect(provider.baseURL == "https://bedrock-runtime.us-west-2.amazonaws.com/openai/v1")
    }
}

@Suite struct AWSCredentialResolverTests {
    static let aws = AWSProviderConfiguration(region: "us-east-1")

    @Test func configuredReferencesComeFirst() throws {
        let resolver = SecretResolver(environment: [
            "ID": "AKIDCONFIG", "SECRET": "config-secret", "AWS_ACCESS_KEY_ID": "AKIDENV",
            "AWS_SECRET_ACCESS_KEY": "env-secret",
        ])
        var aws = Self.aws
        aws.accessKeyID = .environment("ID")
        aws.secretAccessKey = .environment("SECRET")
        let credentials = try resolver.resolveAWSCredentials(aws, path: "providers.aws")
        #expect(credentials == AWSCredentials(accessKeyID: "AKIDCONFIG", secretAccessKey: "config-secret"))
    }

    @Test func theStandardEnvironmentVariablesAreNext() throws {
        let resolver = SecretResolver(environment: [
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "tok",
        ])
        let credentials = try resolver.resolveAWSCredentials(Self.aws, path: "providers.aws")
        #expect(
            credentials == AWSCredentials(accessKeyID: "AKIDENV", secretAccessKey: "env-secret", sessionToken: "tok"))
    }

    static let sharedFile = """
        # comment
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key = default-secret

        [dev]
        aws_access_key_id=AKIDDEV
        aws_secret_access_key=dev-secret
        aws_session_token = dev-token
        """

    @Test func thenTheSharedCredentialsFileAndProfile() throws {
        let files = ["/home/u/.aws/credentials": Self.sharedFile, "/etc/aws-creds": Self.sharedFile]
        let home = SecretResolver(environment: ["HOME": "/home/u"], readFile: { files[$0] })
        #expect(
            try home.resolveAWSCredentials(Self.aws, path: "p")
                == AWSCredentials(accessKeyID: "AKIDDEFAULT", secretAccessKey: "default-secret"))
        let profile = SecretResolver(
            environment: ["HOME": "/home/u", "AWS_PROFILE": "dev", "AWS_SHARED_CREDENTIALS_FILE": "/etc/aws-creds"],
            readFile: { files[$0] })
        #expect(
            try profile.resolveAWSCredentials(Self.aws, path: "p")
                == AWSCredentials(accessKeyID: "AKIDDEV", secretAccessKey: "dev-secret", sessionToken: "dev-token"))
        // A configured profile wins over the environment's keys.
        var aws = Self.aws
        aws.profile = "dev"
        let configured = SecretResolver(
            environment: ["HOME": "/home/u", "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "x"],
            readFile: { files[$0] })
        #expect(try configured.resolveAWSCredentials(aws, path: "p").accessKeyID == "AKIDDEV")
    }

    @Test func aMissingProfileIsNamedWithoutValues() {
        var aws = Self.aws
        aws.profile = "prod"
        let resolver = SecretResolver(environment: ["HOME": "/home/u"], readFile: { _ in Self.sharedFile })
        #expect {
            try resolver.resolveAWSCredentials(aws, path: "providers.aws")
        } throws: { error in
            let text = String(describing: error)
            return text.contains("profile prod") && !text.contains("default-secret") && !text.contains("AKIDDEV")
                && text.contains("providers.aws")
        }
    }

    @Test func resolvedCredentialsLandInTheKeyringUnderTheProvider() throws {
        let configuration = try GatewayConfiguration.parse(
            yaml: """
                providers:
                  aws: { kind: bedrock, region: us-east-1, aws_access_key_id: "env:ID", aws_secret_access_key: "env:SECRET" }
                  key: { kind: bedrock, region: us-east-1, api_key: "env:KEY" }
                models: [{ name: m, targets: [{ provider: aws, model: x }, { provider: key, model: y }] }]
                """,
            source: "config.yaml")
        let keys = try SecretResolver(environment: ["ID": "AKID1", "SECRET": "s1", "KEY": "ABSK1"]).resolveKeys(
            of: configuration)
        #expect(keys["key"]?.revealed == "ABSK1")
        #expect(keys["aws"] == nil)
        let credentials = AWSCredentials(provider: "aws", keyring: { keys[$0]?.revealed })
        #expect(credentials == AWSCredentials(accessKeyID: "AKID1", secretAccessKey: "s1"))
        #expect(AWSCredentials(provider: "key", keyring: { keys[$0]?.revealed }) == nil)
    }

    @Test func aBedrockProviderWithoutAnyCredentialsFailsToResolve() throws {
        let configuration = try GatewayConfiguration.parse(
            yaml: """
                providers: { aws: { kind: bedrock, region: us-east-1 } }
                models: [{ name: m, targets: [{ provider: aws, model: x }] }]
                """,
            source: "config.yaml")
        #expect(throws: ConfigurationErrors.self) {
            try SecretResolver(environment: [:], readFile: { _ in nil }).resolveKeys(of: configuration)
        }
    }
}

import GatewayCore
import GatewayTesting
import Synchronization
import Testing
import _CryptoExtras

@testable import Pipeline

/// `ProviderKeyring.credential` for Vertex providers, against a scripted token endpoint and a
/// clock the test steps: minting, caching, refreshing, single flight, failures.
@Suite struct VertexCredentialTests {
    static let tokenURL = "http://tokens.test/token"

    static func provider(_ credentials: VertexConfiguration.Credentials) -> ProviderConfiguration {
        var provider = ProviderConfiguration(name: "vx", kind: .vertex, baseURL: "http://vertex.test")
        provider.vertex = VertexConfiguration(project: "p", location: "us-east5", credentials: credentials)
        return provider
    }

    static func tokenAnswer(_ token: String, expiresIn: String = "3599") -> ScriptedAnswer {
        .json(Array(#"{"access_token":"\#(token)","expires_in":\#(expiresIn),"token_type":"Bearer"}"#.utf8))
    }

    struct Fixture {
        let keyring: ProviderKeyring
        let transport = ScriptedTransport()
        let clock = SteppableWallClock()
        let provider = VertexCredentialTests.provider(.serviceAccount(tokenURL: nil))

        init() throws {
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            keyring = ProviderKeyring(["vx": GoogleJWTTests.keyFile(key, tokenURI: VertexCredentialTests.tokenURL)])
        }

        func credential() async throws -> ProviderCredential {
            try await keyring.credential(for: provider, transport: transport, clock: clock, timeouts: .init())
        }

        /// Polls `condition` (a background refresh landing) for up to two seconds.
        func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
            for _ in 0..<200 {
                if try await condition() { return true }
                try await Task.sleep(for: .milliseconds(10))
            }
            return false
        }
    }

    @Test func aServiceAccountTokenIsMintedOnceAndReusedUntilItsRefreshTime() async throws {
        let fixture = try Fixture()
        fixture.transport.enqueue(
            [Self.tokenAnswer("ya29.first"), Self.tokenAnswer("ya29.second")], for: Self.tokenURL)
        let first = try await fixture.credential()
        #expect(first.secret == "ya29.first")
        #expect(!first.refreshable)
        let grant = try #require(fixture.transport.requests.first)
        #expect(grant.method == "POST")
        #expect(grant.header("content-type") == "application/x-www-form-urlencoded")
        #expect(grant.bodyText.hasPrefix("assertion=ey"))
        #expect(grant.bodyText.hasSuffix("&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"))
        fixture.clock.advance(.seconds(3000))
        let cached = try await fixture.credential()
        #expect(cached.secret == "ya29.first")
        #expect(cached.refreshable)
        #expect(fixture.transport.requests.count == 1)
        // 3599 s lifetime: refreshed 359.9 s (10 %) before expiry, in the background: the
        // request that starts the refresh still gets the valid first token.
        fixture.clock.advance(.seconds(240))
        #expect(try await fixture.credential().secret == "ya29.first")
        #expect(try await fixture.eventually { try await fixture.credential().secret == "ya29.second" })
        #expect(fixture.transport.requests.count == 2)
        #expect(fixture.keyring.allKeys().contains("ya29.second"))
    }

    @Test func aFailedBackgroundRefreshKeepsTheValidTokenAndIsTriedAgain() async throws {
        let fixture = try Fixture()
        fixture.transport.enqueue(
            [Self.tokenAnswer("ya29.first"), .failure(.connect, "refused"), Self.tokenAnswer("ya29.second")],
            for: Self.tokenURL)
        #expect(try await fixture.credential().secret == "ya29.first")
        fixture.clock.advance(.seconds(3300))
        #expect(try await fixture.credential().secret == "ya29.first")
        #expect(try await fixture.eventually { try await fixture.credential().secret == "ya29.second" })
        #expect(fixture.transport.requests.count == 3)
    }

    @Test func concurrentRequestsShareOneMint() async throws {
        let fixture = try Fixture()
        fixture.transport.always(Self.tokenAnswer("ya29.shared", expiresIn: #""3600""#), for: Self.tokenURL)
        let secrets = try await withThrowingTaskGroup(of: String?.self) { group in
            for _ in 0..<16 { group.addTask { try await fixture.credential().secret } }
            return try await group.reduce(into: [String?]()) { $0.append($1) }
        }
        #expect(secrets.allSatisfy { $0 == "ya29.shared" })
        #expect(fixture.transport.requests.count == 1)
    }

    @Test func aRefusedGrantIsAFailureNamingGooglesErrorAndTheNextRequestTriesAgain() async throws {
        let fixture = try Fixture()
        fixture.transport.enqueue(
            [
                .json(
                    Array(#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#.utf8), status: 400),
                Self.tokenAnswer("ya29.ok"),
            ], for: Self.tokenURL)
        await #expect {
            try await fixture.credential()
        } throws: { error in
            (error as? AccessTokenFailure)?.detail
                == "the token endpoint answered HTTP 400 (invalid_grant: Invalid JWT Signature.)"
        }
        #expect(try await fixture.credential().secret == "ya29.ok")
    }

    @Test func anUnreachableOrMalformedEndpointFails() async throws {
        let fixture = try Fixture()
        fixture.transport.enqueue(
            [.failure(.connectTimeout, "timed out"), .json(Array(#"{"expires_in":3599}"#.utf8))], for: Self.tokenURL)
        await #expect {
            try await fixture.credential()
        } throws: { error in
            (error as? AccessTokenFailure)?.isTimeout == true
        }
        await #expect {
            try await fixture.credential()
        } throws: { error in
            (error as? AccessTokenFailure)?.detail.contains("no access_token") == true
        }
    }

    @Test func theMetadataServerIsAskedWithItsHeaderAndItsOwnLifetime() async throws {
        let transport = ScriptedTransport()
        let clock = SteppableWallClock()
        let provider = Self.provider(.metadataServer(baseURL: "http://127.0.0.1:9"))
        transport.always(Self.tokenAnswer("ya29.meta", expiresIn: "1967"), for: "http://127.0.0.1:9/")
        let keyring = ProviderKeyring()
        let credential = try await keyring.credential(
            for: provider, transport: transport, clock: clock, timeouts: .init())
        #expect(credential.secret == "ya29.meta")
        let sent = try #require(transport.requests.first)
        #expect(sent.method == "GET")
        #expect(
            sent.url
                == "http://127.0.0.1:9/computeMetadata/v1/instance/service-accounts/default/token"
                + "?scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcloud-platform")
        #expect(sent.header("metadata-flavor") == "Google")
        // 1967 s left: refreshed 300 s before expiry, not an hour-long token's 360 s.
        clock.advance(.seconds(1666))
        _ = try await keyring.credential(for: provider, transport: transport, clock: clock, timeouts: .init())
        #expect(transport.requests.count == 1)
        clock.advance(.seconds(1))
        _ = try await keyring.credential(for: provider, transport: transport, clock: clock, timeouts: .init())
        for _ in 0..<200 where transport.requests.count < 2 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(transport.requests.count == 2)
    }

    @Test func aStaticTokenAndAnAPIKeyAreUsedAsResolved() async throws {
        let transport = ScriptedTransport()
        let keyring = ProviderKeyring(["vx": "ya29.static"])
        for credentials in [VertexConfiguration.Credentials.accessToken, .apiKey] {
            let credential = try await keyring.credential(
                for: Self.provider(credentials), transport: transport, clock: SteppableWallClock(), timeouts: .init())
            #expect(credential.secret == "ya29.static")
            #expect(!credential.refreshable)
        }
        #expect(transport.requests.isEmpty)
    }

    @Test func anInvalidatedTokenIsReplacedByAFreshMint() async throws {
        let fixture = try Fixture()
        fixture.transport.enqueue([Self.tokenAnswer("ya29.one"), Self.tokenAnswer("ya29.two")], for: Self.tokenURL)
        #expect(try await fixture.credential().secret == "ya29.one")
        fixture.keyring.invalidate(token: "ya29.one", for: "vx")
        #expect(try await fixture.credential().secret == "ya29.two")
    }
}

/// Key files checked when keys are resolved: reported by path, never by contents.
@Suite struct VertexCredentialCheckTests {
    static func configuration() -> GatewayConfiguration {
        GatewayConfiguration(providers: [
            VertexCredentialTests.provider(.serviceAccount(tokenURL: nil)),
            ProviderConfiguration(name: "other", kind: .openai, baseURL: "https://api.openai.com/v1"),
        ])
    }

    @Test func aUsableKeyFilePasses() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        try VertexCredentialCheck.validate(
            Self.configuration(), keys: ["vx": GoogleJWTTests.keyFile(key), "other": "sk-not-json"])
    }

    @Test func anUnusableOneIsAnErrorAtItsPath() throws {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let truncated = GoogleJWTTests.keyFile(key).replacingOccurrences(of: "MII", with: "SECRETBYTES")
        for text in ["{\"secret\": \"do-not-print\"}", truncated] {
            #expect {
                try VertexCredentialCheck.validate(Self.configuration(), keys: ["vx": text])
            } throws: { error in
                let rendered = "\(error)"
                return rendered.contains("providers.vx.credentials_file") && !rendered.contains("do-not-print")
                    && !rendered.contains("SECRETBYTES")
            }
        }
    }
}

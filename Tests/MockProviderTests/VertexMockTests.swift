import Crypto
import Foundation
import GatewayTesting
import MockProvider
import Testing
import _CryptoExtras

/// The Vertex AI mock: a token endpoint that verifies RS256 JWTs as Google does, the metadata
/// server, and strict model paths for Gemini and Claude (docs/wire/vertex.md).
@Suite(.timeLimit(.minutes(1))) struct VertexMockTests {
    static let account = Result { try VertexMockServiceAccount.generate() }

    static func withVertexMock<T>(
        _ adjust: (inout VertexMockSettings) -> Void = { _ in }, _ body: (MockProviderServer) async throws -> T
    ) async throws -> T {
        var configuration = MockProviderConfiguration(dialect: .vertex)
        configuration.vertex.serviceAccount = try account.get()
        adjust(&configuration.vertex)
        return try await withMocks([configuration]) { try await body($0[0]) }
    }

    static func b64url(_ data: some Sequence<UInt8>) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// A JWT signed here, independently of the gateway's signer.
    static func jwt(
        iss: String? = nil, aud: String = "https://oauth2.googleapis.com/token",
        scope: String = "https://www.googleapis.com/auth/cloud-platform", iat: Int? = nil, lifetime: Int = 3600,
        key: String? = nil, kid: String? = nil
    ) throws -> String {
        let account = try account.get()
        let now = iat ?? Int(Date().timeIntervalSince1970)
        let header = #"{"typ": "JWT", "alg": "RS256", "kid": "\#(kid ?? account.privateKeyID)"}"#
        let payload =
            #"{"iat": \#(now), "exp": \#(now + lifetime), "iss": "\#(iss ?? account.clientEmail)", "aud": "\#(aud)", "#
            + #""scope": "\#(scope)"}"#
        let input = b64url(Array(header.utf8)) + "." + b64url(Array(payload.utf8))
        let signer = try _RSA.Signing.PrivateKey(pemRepresentation: key ?? account.privateKeyPEM)
        let signature = try signer.signature(for: SHA256.hash(data: Data(input.utf8)), padding: .insecurePKCS1v1_5)
        return input + "." + b64url(signature.rawRepresentation)
    }

    static func grant(_ server: MockProviderServer, assertion: String, grantType: String? = nil) async throws
        -> HTTPResponse
    {
        let type = grantType ?? "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
        return try await HTTPClient(server.endpoint).send(
            "POST", "/token", headers: [("content-type", "application/x-www-form-urlencoded")],
            body: Array("assertion=\(assertion)&grant_type=\(type)".utf8))
    }

    static func token(_ server: MockProviderServer) async throws -> String {
        let response = try await grant(server, assertion: try jwt())
        #expect(response.status == 200, "\(response.text)")
        return try #require(try response.json()["access_token"] as? String)
    }

    static let geminiPath =
        "/v1/projects/llmgw-test/locations/us-east5/publishers/google/models/gemini-2.5-flash:generateContent"
    static let claudePath =
        "/v1/projects/llmgw-test/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict"
    static let geminiBody = #"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}"#
    static let claudeBody =
        #"{"max_tokens":64,"messages":[{"role":"user","content":"Hi"}],"anthropic_version":"vertex-2023-10-16"}"#

    @Test func aValidGrantGetsATokenShapedLikeGooglesAnswer() async throws {
        try await Self.withVertexMock { server in
            let response = try await Self.grant(server, assertion: try Self.jwt())
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json; charset=utf-8")
            let json = try response.json()
            #expect((json["access_token"] as? String)?.hasPrefix("ya29.") == true)
            #expect(json["expires_in"] as? Int == 3599)
            #expect(json["token_type"] as? String == "Bearer")
            // Its own URL (as the request's Host names it) is an accepted audience too.
            let own = try await Self.grant(server, assertion: try Self.jwt(aud: "http://localhost/token"))
            #expect(own.status == 200, "\(own.text)")
        }
    }

    @Test func badGrantsAreRefusedInGooglesShape() async throws {
        let stranger = try _RSA.Signing.PrivateKey(keySize: .bits2048).pkcs8PEMRepresentation
        let old = Int(Date().timeIntervalSince1970) - 7200
        let cases: [(String, String, String)] = [
            (try Self.jwt(key: stranger), "invalid_grant", "Invalid JWT Signature."),
            (try Self.jwt(iss: "other@p.iam.gserviceaccount.com"), "invalid_grant", "Invalid grant: account not found"),
            (try Self.jwt(aud: "https://example.com/token"), "invalid_grant", "Invalid JWT: Failed audience check."),
            (
                try Self.jwt(scope: "https://www.googleapis.com/auth/userinfo.email"), "invalid_scope",
                "Invalid OAuth scope"
            ),
            (try Self.jwt(lifetime: 7200), "invalid_grant", "Token must be a short-lived token (60 minutes)"),
            (try Self.jwt(iat: old), "invalid_grant", "Check your iat and exp values"),
            ("not.a.jwt", "invalid_grant", "Invalid JWT"),
        ]
        try await Self.withVertexMock { server in
            for (assertion, error, description) in cases {
                let response = try await Self.grant(server, assertion: assertion)
                #expect(response.status == 400)
                let json = try response.json()
                #expect(json["error"] as? String == error)
                #expect((json["error_description"] as? String)?.contains(description) == true, "\(response.text)")
            }
            let tampered = try Self.jwt().split(separator: ".")
            let forged = Self.b64url(Array(#"{"iss":"x"}"#.utf8))
            let response = try await Self.grant(server, assertion: "\(tampered[0]).\(forged).\(tampered[2])")
            #expect(response.status == 400)
            let wrongType = try await Self.grant(server, assertion: try Self.jwt(), grantType: "client_credentials")
            #expect(try wrongType.json()["error"] as? String == "unsupported_grant_type")
        }
    }

    @Test func tokenFaultsFailTheGrant() async throws {
        try await Self.withVertexMock({ $0.tokenFaults = "status=503x1" }) { server in
            let first = try await Self.grant(server, assertion: try Self.jwt())
            #expect(first.status == 503)
            #expect(try first.json()["error"] as? String == "temporarily_unavailable")
            #expect(try await Self.grant(server, assertion: try Self.jwt()).status == 200)
        }
    }

    @Test func theMetadataServerNeedsItsHeaderAndAnswersWithIt() async throws {
        try await Self.withVertexMock { server in
            let path = "/computeMetadata/v1/instance/service-accounts/default/token"
            let bare = try await HTTPClient(server.endpoint).get(path)
            #expect(bare.status == 403)
            let response = try await HTTPClient(server.endpoint).send(
                "GET", path + "?scopes=https%3A%2F%2Fwww.googleapis.com%2Fauth%2Fcloud-platform",
                headers: [("metadata-flavor", "Google")], body: [])
            #expect(response.status == 200)
            #expect(response.header("metadata-flavor") == "Google")
            #expect(response.header("content-type") == "application/json; charset=utf-8")
            let json = try response.json()
            #expect(json["expires_in"] as? Int == 1967)
            let token = try #require(json["access_token"] as? String)
            let answer = try await exchange(server, "POST", Self.geminiPath, body: Self.geminiBody, key: token)
            #expect(answer.status == 200, "\(answer.text)")
        }
    }

    @Test func modelPathsNeedAMintedToken() async throws {
        try await Self.withVertexMock { server in
            let missing = try await exchange(server, "POST", Self.geminiPath, body: Self.geminiBody, key: nil)
            #expect(missing.status == 401)
            #expect(missing.text.contains("CREDENTIALS_MISSING"))
            let unknown = try await exchange(
                server, "POST", Self.geminiPath, body: Self.geminiBody, key: "ya29.made-up")
            #expect(unknown.status == 401)
            #expect(
                try unknown.json()["error"].map { ($0 as? [String: Any])?["status"] as? String } == "UNAUTHENTICATED")
            let streamPath = Self.geminiPath.replacingOccurrences(
                of: ":generateContent", with: ":streamGenerateContent?alt=sse")
            let wrapped = try await exchange(server, "POST", streamPath, body: Self.geminiBody, key: "ya29.made-up")
            #expect(wrapped.text.hasPrefix("["))
            let apiKey = try await exchange(
                server, "POST", Self.geminiPath, body: Self.geminiBody, key: nil, headers: [("x-goog-api-key", "AQ.k")])
            #expect(apiKey.text.contains("API keys are not supported by this API"))
        }
    }

    @Test func anEarlyExpiredTokenIsRefusedAsExpired() async throws {
        try await Self.withVertexMock({ $0.tokenAcceptedSeconds = 0 }) { server in
            let token = try await Self.token(server)
            let response = try await exchange(server, "POST", Self.geminiPath, body: Self.geminiBody, key: token)
            #expect(response.status == 401)
            #expect(response.text.contains("ACCESS_TOKEN_EXPIRED"))
        }
    }

    @Test func geminiAnswersInVertexShape() async throws {
        try await Self.withVertexMock { server in
            let token = try await Self.token(server)
            let response = try await exchange(server, "POST", Self.geminiPath, body: Self.geminiBody, key: token)
            #expect(response.status == 200, "\(response.text)")
            let json = try response.json()
            #expect(json["createTime"] is String)
            let usage = try #require(json["usageMetadata"] as? [String: Any])
            #expect(usage["trafficType"] as? String == "ON_DEMAND")
            let candidate = try #require((json["candidates"] as? [[String: Any]])?.first)
            #expect(candidate["index"] == nil)
            let stream = try await exchange(
                server, "POST",
                Self.geminiPath.replacingOccurrences(of: ":generateContent", with: ":streamGenerateContent?alt=sse"),
                body: Self.geminiBody, key: token)
            #expect(stream.status == 200)
            #expect(stream.text.hasPrefix(#"data: {"candidates": [{"content": {"role": "model","parts": ["#))
            #expect(stream.text.hasSuffix("}\r\n\r\n"))
        }
    }

    @Test func geminiIsStricterThanTheGeminiAPI() async throws {
        try await Self.withVertexMock { server in
            let token = try await Self.token(server)
            let noRole = try await exchange(
                server, "POST", Self.geminiPath, body: #"{"contents":[{"parts":[{"text":"Hi"}]}]}"#, key: token)
            #expect(noRole.status == 400)
            #expect(noRole.text.contains("Please use a valid role: user, model."))
            let responseID = #"""
                {"contents":[{"role":"user","parts":[{"text":"Hi"}]},{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]},
                {"role":"user","parts":[{"functionResponse":{"id":"1","name":"f","response":{"a":1}}}]}],
                "tools":[{"functionDeclarations":[{"name":"f"}]}]}
                """#
            let withID = try await exchange(server, "POST", Self.geminiPath, body: responseID, key: token)
            #expect(withID.status == 400)
            #expect(withID.text.contains(#"Unknown name \"id\""#))
            let labels = #"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"labels":{"team":"gw"}}"#
            #expect(try await exchange(server, "POST", Self.geminiPath, body: labels, key: token).status == 200)
            let wrongProject = Self.geminiPath.replacingOccurrences(of: "llmgw-test", with: "someone-else")
            let denied = try await exchange(server, "POST", wrongProject, body: Self.geminiBody, key: token)
            #expect(denied.status == 403)
            #expect(denied.text.contains("PERMISSION_DENIED"))
            let byNumber = Self.geminiPath.replacingOccurrences(of: "llmgw-test", with: "740989871600")
            #expect(try await exchange(server, "POST", byNumber, body: Self.geminiBody, key: token).status == 200)
            let wrongPublisher = Self.geminiPath.replacingOccurrences(of: "/google/", with: "/anthropic/")
            #expect(try await exchange(server, "POST", wrongPublisher, body: Self.geminiBody, key: token).status == 404)
        }
    }

    @Test func claudeWantsTheVertexBodyAndAnswersWithVertexIDs() async throws {
        try await Self.withVertexMock { server in
            let token = try await Self.token(server)
            let response = try await exchange(server, "POST", Self.claudePath, body: Self.claudeBody, key: token)
            #expect(response.status == 200, "\(response.text)")
            let json = try response.json()
            #expect((json["id"] as? String)?.hasPrefix("msg_vrtx_") == true)
            #expect(json["model"] as? String == "claude-sonnet-4-5-20250929")
            let withModel = Self.claudeBody.replacingOccurrences(
                of: #"{"max_tokens""#, with: #"{"model":"c","max_tokens""#)
            let refused = try await exchange(server, "POST", Self.claudePath, body: withModel, key: token)
            #expect(refused.status == 400)
            #expect(refused.text.contains("model: Extra inputs are not permitted"))
            let noVersion = #"{"max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}"#
            let unversioned = try await exchange(server, "POST", Self.claudePath, body: noVersion, key: token)
            #expect(unversioned.text.contains("anthropic_version: Field required"))
            let dashed = Self.claudePath.replacingOccurrences(of: "@", with: "-")
            #expect(try await exchange(server, "POST", dashed, body: Self.claudeBody, key: token).status == 404)
            let streamed = Self.claudeBody.replacingOccurrences(
                of: #""max_tokens":64"#, with: #""max_tokens":64,"stream":true"#)
            #expect(try await exchange(server, "POST", Self.claudePath, body: streamed, key: token).status == 400)
        }
    }

    @Test(arguments: [VertexMockSettings.VertexEventPosition.afterMessageStart, .beforeMessageStop, .none])
    func claudeStreamsCarryVertexEventWhereAsked(position: VertexMockSettings.VertexEventPosition) async throws {
        try await Self.withVertexMock({ $0.vertexEvent = position }) { server in
            let token = try await Self.token(server)
            let body = Self.claudeBody.replacingOccurrences(
                of: #""max_tokens":64"#, with: #""max_tokens":64,"stream":true"#)
            let response = try await exchange(
                server, "POST", Self.claudePath.replacingOccurrences(of: ":rawPredict", with: ":streamRawPredict"),
                body: body, key: token)
            #expect(response.status == 200, "\(response.text)")
            let names = namedEvents(response.text).map(\.name)
            #expect(names.first == "message_start")
            #expect(names.last == "message_stop")
            switch position {
            case .afterMessageStart: #expect(names[1] == "vertex_event")
            case .beforeMessageStop: #expect(names[names.count - 2] == "vertex_event")
            case .none: #expect(!names.contains("vertex_event"))
            }
            #expect(response.text.contains("          }\n\n"))
        }
    }
}

import Dialects
import Foundation
import GatewayCore
import GatewayTesting
import MockProvider
import Testing

/// The Bedrock mock: SigV4 verified against its credentials (requests signed by the gateway's
/// own signer), strict Converse validation, event-stream framing, AWS error shapes, faults.
@Suite(.timeLimit(.minutes(1))) struct BedrockMockResponderTests {
    static let credentials = AWSCredentials(accessKeyID: "AKIDMOCKTEST", secretAccessKey: "mock-secret-key")
    static let model = "anthropic.claude-3-haiku-20240307-v1:0"
    static let hello =
        #"{"messages":[{"role":"user","content":[{"text":"Hi there"}]}],"inferenceConfig":{"maxTokens":64}}"#

    static func withBedrockMock<T>(
        faults: String = "", sessionToken: String? = nil, _ body: (MockProviderServer) async throws -> T
    ) async throws -> T {
        try await withDialectMock(
            .bedrock, faults: faults, apiKey: "ABSK-mock-key",
            configure: { configuration in
                configuration.aws = MockAWSCredentials(
                    accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey,
                    sessionToken: sessionToken, region: "us-east-1")
            }, body)
    }

    /// `POST /model/{id}/converse[-stream]`, signed like the gateway signs (then optionally spoiled).
    static func signed(
        _ mock: MockProviderServer, _ body: String, model: String = model, stream: Bool = false,
        credentials: AWSCredentials = credentials, region: String = "us-east-1",
        epochSeconds: Int64 = Int64(Date().timeIntervalSince1970), path: String? = nil,
        tamper: (inout [(name: String, value: String)], inout String) -> Void = { _, _ in }
    ) async throws -> HTTPResponse {
        let url = BedrockProviderCodec.url(baseURL: "http://localhost", model: model, stream: stream)
        var request = UpstreamRequest(
            url: url, headers: [("content-type", "application/json")], body: Array(body.utf8),
            timeouts: TimeoutConfiguration())
        AWSSigV4Signer.sign(
            &request, credentials: credentials, scope: AWSSigningScope(region: region, service: "bedrock"),
            epochSeconds: epochSeconds)
        // The raw client writes `host: localhost` and `content-type: application/json` itself, the
        // values signed here.
        var headers = request.headers.filter { $0.name != "host" && $0.name != "content-type" }
        var sentBody = body
        tamper(&headers, &sentBody)
        let target = path ?? String(url.dropFirst("http://localhost".count))
        return try await exchange(
            mock, "POST", target, body: sentBody, key: nil, headers: headers.map { ($0.name, $0.value) })
    }

    static func errorType(_ response: HTTPResponse) -> String? {
        response.header("x-amzn-errortype").map { String($0.prefix { $0 != ":" }) }
    }

    @Test func aSignedConverseIsAnswered() async throws {
        try await Self.withBedrockMock { mock in
            let response = try await Self.signed(mock, Self.hello)
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-amzn-requestid")?.isEmpty == false)
            let json = try response.json()
            let message = try #require((json["output"] as? [String: Any])?["message"] as? [String: Any])
            let content = try #require(message["content"] as? [[String: Any]])
            #expect(content.first?["text"] as? String == "Hello! You said: Hi there")
            #expect(json["stopReason"] as? String == "end_turn")
            let usage = try #require(json["usage"] as? [String: Int])
            #expect(usage["totalTokens"] == (usage["inputTokens"] ?? 0) + (usage["outputTokens"] ?? 0))
            // The path arrived with `%3A`, as sent.
            #expect(mock.stats.recentRequests.last?.uri == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse")
        }
    }

    @Test func aStreamIsBinaryFramesWithValidCRCs() async throws {
        try await Self.withBedrockMock { mock in
            let response = try await Self.signed(mock, Self.hello, stream: true)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/vnd.amazon.eventstream")
            var framer = AWSEventStreamFramer()
            let messages = try framer.push(response.body)
            #expect(framer.pendingBytes == 0)
            let types = messages.map { $0.string(":event-type") ?? "?" }
            #expect(types.first == "messageStart")
            #expect(Array(types.suffix(3)) == ["contentBlockStop", "messageStop", "metadata"])
            #expect(!types.contains("contentBlockStart"), "text blocks have no start")
            #expect(messages.allSatisfy { $0.string(":message-type") == "event" })
            // Payloads are unwrapped and padded.
            let delta = try #require(messages.first { $0.string(":event-type") == "contentBlockDelta" })
            let payload = try #require(try JSONSerialization.jsonObject(with: Data(delta.payload)) as? [String: Any])
            #expect(payload["contentBlockDelta"] == nil && payload["delta"] != nil && payload["p"] is String)
            var decoder = BedrockStreamDecoder()
            let events = decoder.push(response.body) + decoder.finish()
            #expect(decoder.isComplete)
            let text = events.compactMap { if case .textDelta(let t) = $0 { t } else { nil } }.joined()
            #expect(text == "Hello! You said: Hi there")
        }
    }

    @Test func aToolIsCalledAndItsResultAnswered() async throws {
        let tools =
            #","toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}}}}}}],"toolChoice":{"any":{}}}"#
        try await Self.withBedrockMock { mock in
            let first = try await Self.signed(mock, String(Self.hello.dropLast()) + tools + "}")
            #expect(first.status == 200, "\(first.text)")
            #expect(try first.json()["stopReason"] as? String == "tool_use")
            #expect(first.text.contains(#""toolUse":{"toolUseId":"tooluse_"#))
            let history =
                #"{"messages":[{"role":"user","content":[{"text":"Weather?"}]},"#
                + #"{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"get_weather","input":{"city":"Paris"}}}]},"#
                + #"{"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"json":{"temp_c":18}}],"status":"success"}}]}]"#
                + tools + "}"
            let second = try await Self.signed(mock, history)
            #expect(second.status == 200, "\(second.text)")
            #expect(second.text.contains(#"Tool result received: {\"temp_c\":18}"#))
        }
    }

    @Test func aWrongSecretIsAnInvalidSignature() async throws {
        try await Self.withBedrockMock { mock in
            let wrong = AWSCredentials(accessKeyID: Self.credentials.accessKeyID, secretAccessKey: "not-the-secret")
            let response = try await Self.signed(mock, Self.hello, credentials: wrong)
            #expect(response.status == 403)
            #expect(Self.errorType(response) == "InvalidSignatureException")
            #expect(
                try response.json()["message"] as? String ?? ""
                    == "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
            )
        }
    }

    @Test func aBodyChangedAfterSigningIsRefused() async throws {
        try await Self.withBedrockMock { mock in
            let response = try await Self.signed(mock, Self.hello) { _, body in body = body.replacing("Hi", with: "Ho")
            }
            #expect(response.status == 403)
            #expect(Self.errorType(response) == "InvalidSignatureException")
        }
    }

    /// Signing the path encoded only once (`%3A` instead of `%253A`) is the classic mistake.
    @Test func aSignatureOverTheRawColonIsRefused() async throws {
        try await Self.withBedrockMock { mock in
            let response = try await Self.signed(
                mock, Self.hello, path: "/model/anthropic.claude-3-haiku-20240307-v1:0/converse")
            #expect(response.status == 403)
            #expect(Self.errorType(response) == "InvalidSignatureException")
        }
    }

    @Test func anUnknownKeyIdAWrongRegionAndAStaleDateAreRefused() async throws {
        try await Self.withBedrockMock { mock in
            let other = AWSCredentials(accessKeyID: "AKIDOTHER", secretAccessKey: Self.credentials.secretAccessKey)
            var response = try await Self.signed(mock, Self.hello, credentials: other)
            #expect(response.status == 403 && Self.errorType(response) == "UnrecognizedClientException")
            response = try await Self.signed(mock, Self.hello, region: "eu-west-1")
            #expect(response.status == 403 && Self.errorType(response) == "InvalidSignatureException")
            response = try await Self.signed(mock, Self.hello, epochSeconds: Int64(Date().timeIntervalSince1970) - 3600)
            #expect(response.status == 403 && Self.errorType(response) == "InvalidSignatureException")
            #expect(response.text.contains("Signature expired"))
            response = try await exchange(mock, "POST", "/model/m.x/converse", body: Self.hello, key: nil)
            #expect(response.status == 403 && Self.errorType(response) == "MissingAuthenticationTokenException")
        }
    }

    @Test func temporaryCredentialsNeedTheirSignedToken() async throws {
        try await Self.withBedrockMock(sessionToken: "session-token-1") { mock in
            var response = try await Self.signed(mock, Self.hello)
            #expect(response.status == 403 && Self.errorType(response) == "UnrecognizedClientException")
            let temporary = AWSCredentials(
                accessKeyID: Self.credentials.accessKeyID, secretAccessKey: Self.credentials.secretAccessKey,
                sessionToken: "session-token-1")
            response = try await Self.signed(mock, Self.hello, credentials: temporary)
            #expect(response.status == 200, "\(response.text)")
        }
    }

    @Test func aBedrockAPIKeyIsABearer() async throws {
        try await Self.withBedrockMock { mock in
            let path = "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
            var response = try await exchange(mock, "POST", path, body: Self.hello, key: "ABSK-mock-key")
            #expect(response.status == 200, "\(response.text)")
            response = try await exchange(mock, "POST", path, body: Self.hello, key: "ABSK-wrong")
            #expect(response.status == 403 && Self.errorType(response) == "UnrecognizedClientException")
        }
    }

    static let rejected: [(body: String, message: String)] = [
        (#"{"messages":[]}"#, "messages"),
        (#"{"messages":[{"role":"assistant","content":[{"text":"Hi"}]}]}"#, "must start with a user message"),
        (
            #"{"messages":[{"role":"user","content":[{"text":"a"}]},{"role":"user","content":[{"text":"b"}]}]}"#,
            "must alternate between user and assistant roles"
        ),
        (#"{"messages":[{"role":"system","content":[{"text":"a"}]}]}"#, "[user, assistant]"),
        (#"{"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]}"#, "exactly one"),
        (#"{"messages":[{"role":"user","content":[{"text":"  "}]}]}"#, "is blank"),
        (
            #"{"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"data:image/png;base64,iVBO"}}}]}]}"#,
            "base64"
        ),
        (
            #"{"messages":[{"role":"user","content":[{"toolResult":{"toolUseId":"t","content":[{"text":"x"}]}}]}]}"#,
            "toolConfig field must be defined"
        ),
        (#"{"messages":[{"role":"user","content":[{"text":"a"}]}],"model":"x"}"#, "extraneous key [model]"),
        (
            #"{"messages":[{"role":"user","content":[{"text":"a"}]}],"inferenceConfig":{"max_tokens":5}}"#,
            "extraneous key [max_tokens]"
        ),
        (
            #"{"messages":[{"role":"user","content":[{"text":"a"}]}],"inferenceConfig":{"temperature":3}}"#,
            "temperature"
        ),
        (
            #"{"messages":[{"role":"user","content":[{"text":"a"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"f","inputSchema":{"json":{}}}}],"toolChoice":{"none":{}}}}"#,
            "toolChoice"
        ),
        ("not json", "Malformed input request"),
    ]

    @Test(arguments: rejected.indices)
    func invalidBodiesAreValidationExceptions(index: Int) async throws {
        let (body, message) = Self.rejected[index]
        try await Self.withBedrockMock { mock in
            let response = try await Self.signed(mock, body)
            #expect(response.status == 400, "\(body)")
            #expect(Self.errorType(response) == "ValidationException")
            #expect((try response.json()["message"] as? String ?? "").contains(message), "\(response.text)")
        }
    }

    @Test func injectedThrottlingHasAWSsShape() async throws {
        try await Self.withBedrockMock(faults: "status=429x1") { mock in
            var response = try await Self.signed(mock, Self.hello)
            #expect(response.status == 429)
            #expect(Self.errorType(response) == "ThrottlingException")
            #expect(response.header("x-amzn-errortype")?.contains(":http://internal.amazon.com/") == true)
            #expect(try response.json()["message"] as? String == "Too many requests, please wait before trying again.")
            response = try await Self.signed(mock, Self.hello)
            #expect(response.status == 200)
        }
    }

    @Test func anInBandErrorIsAnExceptionFrame() async throws {
        try await Self.withBedrockMock(faults: "error_event=2") { mock in
            let response = try await Self.signed(mock, Self.hello, stream: true)
            #expect(response.status == 200)
            var framer = AWSEventStreamFramer()
            let messages = try framer.push(response.body)
            #expect(messages.count == 3)
            #expect(messages.last?.string(":message-type") == "exception")
            #expect(messages.last?.string(":exception-type") == "throttlingException")
        }
    }

    @Test func aCutStreamEndsBetweenFrames() async throws {
        try await Self.withBedrockMock(faults: "cut=2") { mock in
            let response = try await Self.signed(mock, Self.hello, stream: true)
            var framer = AWSEventStreamFramer()
            #expect(try framer.push(response.body).count == 2)
            var decoder = BedrockStreamDecoder()
            _ = decoder.push(response.body)
            guard case .error = decoder.finish().last else { return #expect(Bool(false), "a cut stream must fail") }
        }
    }

    @Test func aModelSuffixInjectsFaultsPerModel() async throws {
        try await Self.withBedrockMock { mock in
            let response = try await Self.signed(mock, Self.hello, model: Self.model + "#status=503")
            #expect(response.status == 503)
            #expect(Self.errorType(response) == "ServiceUnavailableException")
        }
    }
}

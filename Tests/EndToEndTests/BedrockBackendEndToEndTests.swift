import Foundation
import GatewayTesting
import MockProvider
import Testing

/// OpenAI- and Anthropic-dialect clients served by `kind: bedrock` providers (the strict Bedrock
/// mock, which verifies every SigV4 signature), over the gateway's socket.
@Suite(.timeLimit(.minutes(2))) struct BedrockBackendEndToEndTests {
    static let accessKeyID = "AKIDE2EBEDROCK0000001"
    static let secretAccessKey = "e2e-bedrock-secret-DO-NOT-LEAK-5e1f"
    static let modelID = "anthropic.claude-3-haiku-20240307-v1:0"
    static let arn =
        "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku-20240307-v1:0"

    static func yaml(bedrock: String, openAI: String) -> (URL, String) -> String {
        { directory, socket in
            """
            listen: { socket: \(socket) }
            state: { path: \(directory.path)/state }
            timeouts: { connect: 2s, first_byte: 5s }
            retry: { attempts_per_target: 2 }
            providers:
              aws: { kind: bedrock, region: us-east-1, base_url: "\(bedrock)", aws_access_key_id: "env:E2E_AWS_KEY_ID", aws_secret_access_key: "env:E2E_AWS_SECRET" }
              aws-badsecret: { kind: bedrock, region: us-east-1, base_url: "\(bedrock)", aws_access_key_id: "env:E2E_AWS_KEY_ID", aws_secret_access_key: "file:\(directory.path)/wrong-secret" }
              aws-apikey: { kind: bedrock, base_url: "\(bedrock)", api_key: "env:LLMGW_E2E_KEY" }
              mock: { kind: openai, base_url: "\(openAI)", api_key: "env:LLMGW_E2E_KEY" }
            models:
              - name: bedrock
                targets: [{ provider: aws, model: "\(modelID)" }]
              - name: bedrock-arn
                targets: [{ provider: aws, model: "\(arn)" }]
              - name: bedrock-apikey
                targets: [{ provider: aws-apikey, model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0" }]
              - name: bedrock-throttled
                targets: [{ provider: aws, model: "\(modelID)#status=429" }, { provider: mock, model: gpt-4o-mini }]
              - name: bedrock-throttled-once
                targets: [{ provider: aws, model: "\(modelID)#status=429x1" }]
              - name: bedrock-badsecret
                targets: [{ provider: aws-badsecret, model: "\(modelID)" }]
              - name: bedrock-instream
                targets: [{ provider: aws, model: "\(modelID)#error_event=1" }, { provider: mock, model: gpt-4o-mini }]
              - name: bedrock-cut
                targets: [{ provider: aws, model: "\(modelID)#cut=4" }, { provider: mock, model: gpt-4o-mini }]
              - name: bedrock-invalid
                targets: [{ provider: aws, model: "\(modelID)" }, { provider: mock, model: gpt-4o-mini }]
            """
        }
    }

    /// A Bedrock mock that verifies signatures from the test identity (and takes the e2e key as
    /// a Bedrock API key), an OpenAI mock to fail over to, and the gateway.
    static func withBedrockGateway(
        _ body: (GatewayProcess, MockProviderServer, MockProviderServer) async throws -> Void
    ) async throws {
        var bedrock = MockProviderConfiguration(dialect: .bedrock, apiKey: GatewayBinary.providerKey)
        bedrock.aws = MockAWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey)
        let openAI = MockProviderConfiguration(dialect: .openai, apiKey: GatewayBinary.providerKey)
        try await withMocks([bedrock, openAI]) { mocks in
            try await withGatewayProcess(
                environment: [
                    "LLMGW_E2E_KEY": GatewayBinary.providerKey, "E2E_AWS_KEY_ID": accessKeyID,
                    "E2E_AWS_SECRET": secretAccessKey,
                ],
                yaml: yaml(bedrock: mocks[0].baseURL, openAI: mocks[1].baseURL),
                prepare: { gateway in
                    try "not-the-secret\n".write(
                        toFile: gateway.directory.path + "/wrong-secret", atomically: true, encoding: .utf8)
                }
            ) { gateway in
                try await body(gateway, mocks[0], mocks[1])
                for output in [gateway.stdout(), gateway.stderr()] {
                    #expect(!output.contains(secretAccessKey), "the AWS secret leaked")
                    #expect(!output.contains(GatewayBinary.providerKey), "the API key leaked")
                }
            }
        }
    }

    static let tools =
        #"[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]"#

    @Test func aChatIsSignedWithSigV4AndTranslatedBothWays() async throws {
        try await Self.withBedrockGateway { gateway, bedrock, _ in
            let response = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "bedrock", text: "Hi Bedrock", maxTokens: 100),
                headers: [("x-request-id", "e2e-bedrock-chat")])
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-llmgw-provider") == "aws")
            let choice = try #require((try response.json()["choices"] as? [[String: Any]])?.first)
            #expect((choice["message"] as? [String: Any])?["content"] as? String == "Hello! You said: Hi Bedrock")
            #expect(choice["finish_reason"] as? String == "stop")
            let sent = try #require(bedrock.stats.recentRequests.last)
            #expect(sent.uri == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse")
            let authorization = try #require(sent.header("authorization"))
            #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=\(Self.accessKeyID)/"))
            #expect(authorization.contains("/us-east-1/bedrock/aws4_request, SignedHeaders="))
            #expect(sent.header("x-amz-date")?.count == 16)
            #expect(sent.header("x-amz-content-sha256") == nil)
            #expect(sent.header("x-amz-security-token") == nil)
            let body = try #require(try JSONSerialization.jsonObject(with: Data(sent.body)) as? [String: Any])
            #expect((body["inferenceConfig"] as? [String: Any])?["maxTokens"] as? Int == 100)
            #expect(body["model"] == nil)
            let line = try #require(await Self.accessLines(gateway, requestID: "e2e-bedrock-chat").first)
            #expect(line["upstream_model"] as? String == Self.modelID)
            #expect((line["prompt_tokens"] as? Int ?? 0) > 0)
            #expect((line["completion_tokens"] as? Int ?? 0) > 0)
        }
    }

    @Test func aStreamIsDecodedFromEventStreamFramesIntoOpenAIChunks() async throws {
        try await Self.withBedrockGateway { gateway, bedrock, _ in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "bedrock", stream: true, includeUsage: true, text: "Stream it"))
            #expect(response.status == 200, "\(response.text)")
            #expect(response.text.hasSuffix("data: [DONE]\n\n"), "\(response.text)")
            #expect(response.text.contains(#""usage":{"#))
            #expect(response.text.contains(#""finish_reason":"stop""#))
            let text = Self.openAIStreamText(response.text)
            #expect(text == "Hello! You said: Stream it")
            #expect(bedrock.stats.recentRequests.last?.path.hasSuffix("/converse-stream") == true)
        }
    }

    @Test func toolCallsRoundTrip() async throws {
        try await Self.withBedrockGateway { gateway, bedrock, _ in
            let first = try await gateway.client.post(
                "/v1/chat/completions",
                json:
                    #"{"model":"bedrock","messages":[{"role":"user","content":"Weather in Paris?"}],"tools":\#(Self.tools),"tool_choice":"required"}"#
            )
            #expect(first.status == 200, "\(first.text)")
            let choice = try #require((try first.json()["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "tool_calls")
            let message = try #require(choice["message"] as? [String: Any])
            let call = try #require((message["tool_calls"] as? [[String: Any]])?.first)
            let id = try #require(call["id"] as? String)
            let function = try #require(call["function"] as? [String: Any])
            #expect(function["name"] as? String == "get_weather")
            let arguments = try #require(function["arguments"] as? String)
            #expect(try JSONSerialization.jsonObject(with: Data(arguments.utf8)) is [String: Any])
            let sentFirst = try #require(bedrock.stats.recentRequests.last)
            #expect(sentFirst.bodyText.contains(#""toolChoice":{"any":{}}"#))

            let second = try await gateway.client.post(
                "/v1/chat/completions",
                json:
                    #"{"model":"bedrock","tools":\#(Self.tools),"messages":[{"role":"user","content":"Weather in Paris?"},"#
                    + #"{"role":"assistant","content":null,"tool_calls":[{"id":"\#(id)","type":"function","function":{"name":"get_weather","arguments":\#(MockJSONText.quoted(arguments))}}]},"#
                    + #"{"role":"tool","tool_call_id":"\#(id)","content":"18C and sunny"}]}"#)
            #expect(second.status == 200, "\(second.text)")
            let answer = try #require((try second.json()["choices"] as? [[String: Any]])?.first)
            #expect(
                (answer["message"] as? [String: Any])?["content"] as? String == "Tool result received: 18C and sunny")
            let sentSecond = try #require(bedrock.stats.recentRequests.last?.bodyText)
            #expect(sentSecond.contains(#""toolResult":{"toolUseId":"\#(id)""#))
        }
    }

    @Test func aStreamedToolCallArrivesAsOpenAIToolCallDeltas() async throws {
        try await Self.withBedrockGateway { gateway, _, _ in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json:
                    #"{"model":"bedrock","stream":true,"messages":[{"role":"user","content":"Weather?"}],"tools":\#(Self.tools)}"#
            )
            #expect(response.status == 200, "\(response.text)")
            #expect(response.text.contains(#""name":"get_weather""#))
            #expect(response.text.contains(#""finish_reason":"tool_calls""#))
            #expect(response.text.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test func anthropicClientsGetMessagesAndStreams() async throws {
        try await Self.withBedrockGateway { gateway, _, _ in
            let body =
                #"{"model":"bedrock","max_tokens":256,"system":"Be terse.","messages":[{"role":"user","content":"Hello there"}]}"#
            let response = try await gateway.client.post(
                "/v1/messages", json: body, headers: [("anthropic-version", "2023-06-01")])
            #expect(response.status == 200, "\(response.text)")
            let json = try response.json()
            #expect(json["type"] as? String == "message")
            let content = try #require(json["content"] as? [[String: Any]])
            #expect(content.first?["text"] as? String == "Hello! You said: Hello there")
            #expect(json["stop_reason"] as? String == "end_turn")

            let stream = try await gateway.client.post(
                "/v1/messages", json: String(body.dropLast()) + #","stream":true}"#,
                headers: [("anthropic-version", "2023-06-01")])
            #expect(stream.status == 200, "\(stream.text)")
            let names = stream.text.components(separatedBy: "\n").filter { $0.hasPrefix("event: ") }
            #expect(names.first == "event: message_start")
            #expect(names.last == "event: message_stop")
            #expect(stream.text.contains(#""text_delta""#))
        }
    }

    /// The strict mock accepts the `cachePoint` blocks an Anthropic client's `cache_control` becomes.
    @Test func anthropicCacheControlReachesBedrockAsCachePoints() async throws {
        try await Self.withBedrockGateway { gateway, bedrock, _ in
            let body =
                #"{"model":"bedrock","max_tokens":64,"system":[{"type":"text","text":"Be terse.","#
                + #""cache_control":{"type":"ephemeral"}}],"tools":[{"name":"get_weather","input_schema":"#
                + #"{"type":"object"},"cache_control":{"type":"ephemeral"}}],"tool_choice":{"type":"auto"},"#
                + #""messages":[{"role":"user","content":"Hello there"}]}"#
            let response = try await gateway.client.post(
                "/v1/messages", json: body, headers: [("anthropic-version", "2023-06-01")])
            #expect(response.status == 200, "\(response.text)")
            let sent = try #require(bedrock.stats.recentRequests.last)
            let converse = try #require(try JSONSerialization.jsonObject(with: Data(sent.body)) as? [String: Any])
            let system = try #require(converse["system"] as? [[String: Any]])
            #expect((system.last?["cachePoint"] as? [String: Any])?["type"] as? String == "default")
            let tools = try #require((converse["toolConfig"] as? [String: Any])?["tools"] as? [[String: Any]])
            #expect(tools.last?["cachePoint"] != nil)
        }
    }

    @Test func responsesClientsAreTranslatedToConverseToo() async throws {
        try await Self.withBedrockGateway { gateway, bedrock, _ in
            let response = try await gateway.client.post(
                "/v1/responses", json: #"{"model":"bedrock","input":"Hi Responses","max_output_tokens":64}"#)
            #expect(response.status == 200, "\(response.text)")
            let json = try response.json()
            #expect(json["object"] as? String == "response")
            #expect(json["status"] as? String == "completed")
            let text = (json["output"] as? [[String: Any]])?.compactMap { item in
                (item["content"] as? [[String: Any]])?.compactMap { $0["text"] as? String }.joined()
            }.joined()
            #expect(text == "Hello! You said: Hi Responses")
            #expect(bedrock.stats.recentRequests.last?.path.hasSuffix("/converse") == true)

            let stream = try await gateway.client.post(
                "/v1/responses", json: #"{"model":"bedrock","input":"Stream Responses","stream":true}"#)
            #expect(stream.status == 200, "\(stream.text)")
            #expect(stream.text.contains("event: response.output_text.delta"))
            #expect(stream.text.contains("event: response.completed"))
        }
    }

    @Test func modelIdsWithColonsAndARNsAreEscapedAndSignedAsSent() async throws {
        try await Self.withBedrockGateway { gateway, bedrock, _ in
            let response = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "bedrock-arn"))
            #expect(response.status == 200, "\(response.text)")
            #expect(
                bedrock.stats.recentRequests.last?.uri
                    == "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-haiku-20240307-v1%3A0/converse"
            )
        }
    }

    @Test func aBedrockAPIKeyIsSentAsBearerWithoutSigning() async throws {
        try await Self.withBedrockGateway { gateway, bedrock, _ in
            let response = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "bedrock-apikey"))
            #expect(response.status == 200, "\(response.text)")
            let sent = try #require(bedrock.stats.recentRequests.last)
            #expect(sent.header("authorization") == "Bearer \(GatewayBinary.providerKey)")
            #expect(sent.header("x-amz-date") == nil)
        }
    }

    @Test func throttlingFailsOverToTheNextTarget() async throws {
        try await Self.withBedrockGateway { gateway, bedrock, openAI in
            let response = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "bedrock-throttled"),
                headers: [("x-request-id", "e2e-bedrock-throttled")])
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-llmgw-provider") == "mock")
            #expect(bedrock.stats.requests >= 1)
            #expect(openAI.stats.requests == 1)
            let line = try #require(await Self.accessLines(gateway, requestID: "e2e-bedrock-throttled").first)
            let attempts = try #require(line["attempts"] as? [[String: Any]])
            #expect(attempts.first?["status"] as? Int == 429)
            #expect((attempts.first?["error"] as? String)?.contains("Too many requests") == true)
        }
    }

    @Test func aThrottledTargetIsRetried() async throws {
        try await Self.withBedrockGateway { gateway, bedrock, _ in
            let response = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "bedrock-throttled-once"))
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-llmgw-attempts") == "2")
            #expect(bedrock.stats.requests == 2)
        }
    }

    @Test func anInStreamExceptionBeforeAnyOutputFailsOverInvisibly() async throws {
        try await Self.withBedrockGateway { gateway, _, openAI in
            let response = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "bedrock-instream", stream: true))
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-llmgw-provider") == "mock")
            #expect(response.text.hasSuffix("data: [DONE]\n\n"))
            #expect(openAI.stats.requests == 1)
        }
    }

    /// Cut after real output: the client's in-band error and no `[DONE]`; no failover any more.
    @Test func aStreamCutAfterOutputEndsWithAnInBandErrorAndNoDone() async throws {
        try await Self.withBedrockGateway { gateway, _, openAI in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "bedrock-cut", stream: true, text: "a long enough answer please"))
            #expect(response.status == 200, "\(response.text)")
            #expect(response.header("x-llmgw-provider") == "aws")
            #expect(!Self.openAIStreamText(response.text).isEmpty)
            #expect(response.text.contains(#"data: {"error":"#), "\(response.text)")
            #expect(!response.text.contains("[DONE]"))
            #expect(openAI.stats.requests == 0)
        }
    }

    @Test func aBadSignatureIsAnUpstreamAuthFailureNeverTheCallers() async throws {
        try await Self.withBedrockGateway { gateway, bedrock, _ in
            let response = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "bedrock-badsecret"))
            #expect(response.status == 502, "\(response.text)")
            #expect(response.text.contains("HTTP 403"))
            #expect(response.text.contains("signature"))
            #expect(!response.text.contains("not-the-secret"))
            #expect(bedrock.stats.requests == 1)
        }
    }

    @Test func aValidationExceptionIsRelayedAsTheCallersBadRequest() async throws {
        try await Self.withBedrockGateway { gateway, bedrock, openAI in
            // Two user turns in a row are merged by the gateway; an empty text block is Bedrock's to refuse.
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: #"{"model":"bedrock-invalid","messages":[{"role":"user","content":"   "}]}"#)
            #expect(response.status == 400, "\(response.text)")
            let error = try #require(try response.json()["error"] as? [String: Any])
            #expect((error["message"] as? String)?.contains("is blank") == true)
            #expect(bedrock.stats.requests == 1)
            #expect(openAI.stats.requests == 0)
        }
    }

    /// The gateway's access lines for `requestID` (waits briefly for the line to land).
    static func accessLines(_ gateway: GatewayProcess, requestID: String) async -> [[String: Any]] {
        for _ in 0..<50 {
            let lines = gateway.stdout().split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.filter { $0["msg"] as? String == "request" && $0["request_id"] as? String == requestID }
            if !lines.isEmpty { return lines }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return []
    }

    /// The text of an OpenAI SSE transcript's content deltas.
    static func openAIStreamText(_ transcript: String) -> String {
        transcript.components(separatedBy: "\n\n").compactMap { event -> String? in
            guard event.hasPrefix("data: {"),
                let json = try? JSONSerialization.jsonObject(with: Data(event.dropFirst(6).utf8)) as? [String: Any],
                let delta = (json["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]
            else { return nil }
            return delta["content"] as? String
        }.joined()
    }
}

/// JSON string quoting for bodies built in tests.
enum MockJSONText {
    static func quoted(_ text: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
        let array = data.map { String(decoding: $0, as: UTF8.self) } ?? "[\"\"]"
        return String(array.dropFirst().dropLast())
    }
}

import Foundation
import GatewayCore
import Testing

@testable import Dialects

@Suite struct BedrockProviderCodecTests {
    private var provider: ProviderConfiguration {
        var provider = ProviderConfiguration(
            name: "bedrock", kind: .bedrock, baseURL: "https://bedrock-runtime.eu-west-3.amazonaws.com")
        provider.aws = AWSProviderConfiguration(region: "eu-west-3")
        return provider
    }

    private func canonical(_ text: String = "Hi", stream: Bool = false) -> CanonicalRequest {
        CanonicalRequest(model: "m", messages: [.init(role: .user, content: [.text(text)])], stream: stream)
    }

    /// An Anthropic client's `cache_control` on system and tools becomes `cachePoint` blocks after
    /// them; `auto_cache_control` adds them for any client; without either, none.
    @Test func cacheMarksBecomeCachePoints() throws {
        let marked = try AnthropicMessagesRequestDecoder.decode(
            Array(
                #"{"model":"x","max_tokens":5,"system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}],"#
                    .utf8)
                + Array(
                    #""tools":[{"name":"t","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],"#
                        .utf8)
                + Array(#""messages":[{"role":"user","content":"Hi"}]}"#.utf8))
        #expect(marked.cacheMarks == CanonicalCacheMarks(system: true, tools: true))
        let point = #"{"cachePoint":{"type":"default"}}"#
        let body = String(decoding: try BedrockRequestEncoder.encode(marked), as: UTF8.self)
        #expect(body.contains(#""system":[{"text":"S"},"# + point + "]"))
        #expect(body.contains(#"}}},"# + point + "]"))
        var plain = canonical()
        plain.system = ["S"]
        #expect(!String(decoding: try BedrockRequestEncoder.encode(plain), as: UTF8.self).contains("cachePoint"))
        let auto = String(decoding: try BedrockRequestEncoder.encode(plain, autoCacheControl: true), as: UTF8.self)
        #expect(auto.contains(#""system":[{"text":"S"},"# + point + "]"))
    }

    @Test func translatesAnOpenAIRequest() throws {
        let request = try OpenAIChatRequestDecoder.decode(try Fixture.bytes("bedrock/openai_chat_request.json"))
        let body = try BedrockRequestEncoder.encode(request)
        let expected = try Fixture.bytes("bedrock/converse_request_from_openai.json")
        #expect(try JSONComparison.normalized(body) == JSONComparison.normalized(expected))
    }

    @Test func translatesAnAnthropicRequestWithThinkingAndTopK() throws {
        let body = Array(
            #"""
            {"model":"x","max_tokens":300,"top_k":40,"system":[{"type":"text","text":"Be brief."}],
             "thinking":{"type":"enabled","budget_tokens":2048},
             "messages":[{"role":"user","content":"Hi"},
              {"role":"assistant","content":[{"type":"thinking","thinking":"Hmm.","signature":"sig=="},
                {"type":"redacted_thinking","data":"cmVk"},{"type":"text","text":"Hello"}]},
              {"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/"}}]}],
             "tools":[{"name":"t","input_schema":{"type":"object"}}],"tool_choice":{"type":"tool","name":"t"}}
            """#.utf8)
        let request = try AnthropicMessagesRequestDecoder.decode(body)
        let converse = try BedrockRequestEncoder.encode(request)
        let expected = Array(
            #"""
            {"system":[{"text":"Be brief."}],
             "messages":[{"role":"user","content":[{"text":"Hi"}]},
              {"role":"assistant","content":[{"reasoningContent":{"reasoningText":{"text":"Hmm.","signature":"sig=="}}},
                {"reasoningContent":{"redactedContent":"cmVk"}},{"text":"Hello"}]},
              {"role":"user","content":[{"image":{"format":"jpeg","source":{"bytes":"/9j/"}}}]}],
             "inferenceConfig":{"maxTokens":300},
             "toolConfig":{"tools":[{"toolSpec":{"name":"t","inputSchema":{"json":{"type":"object"}}}}],
               "toolChoice":{"tool":{"name":"t"}}},
             "additionalModelRequestFields":{"top_k":40,"thinking":{"type":"enabled","budget_tokens":2048}}}
            """#.utf8)
        #expect(try JSONComparison.normalized(converse) == JSONComparison.normalized(expected))
    }

    @Test func toolChoiceNoneDropsTheToolConfigUnlessTheHistoryUsesTools() throws {
        var request = canonical()
        request.tools = [CanonicalTool(name: "t")]
        request.toolChoice = .disabled
        var body = try JSONComparison.normalized(try BedrockRequestEncoder.encode(request))
        #expect(!body.contains("toolConfig"))
        request.messages += [
            .init(role: .assistant, content: [.toolCall(.init(id: "a", name: "t", arguments: "{}"))]),
            .init(role: .tool, content: [.toolResult(.init(toolCallID: "a", content: [.text("ok")], isError: true))]),
        ]
        body = try JSONComparison.normalized(try BedrockRequestEncoder.encode(request))
        #expect(
            body.contains(
                #""toolConfig":{"tools":[{"toolSpec":{"inputSchema":{"json":{"properties":{},"type":"object"}},"name":"t"}}]}"#
            ))
        #expect(body.contains(#""status":"error""#))
        request.toolChoice = .required
        body = try JSONComparison.normalized(try BedrockRequestEncoder.encode(request))
        #expect(body.contains(#""toolChoice":{"any":{}}"#))
    }

    @Test func whatConverseCannotTakeIsRefused() {
        var request = canonical()
        request.responseFormat = .jsonObject
        #expect(throws: GatewayError.self) { try BedrockRequestEncoder.encode(request) }
        request = canonical()
        request.sampling.choiceCount = 2
        #expect(throws: GatewayError.self) { try BedrockRequestEncoder.encode(request) }
        request = canonical()
        request.messages = [.init(role: .user, content: [.image(.init(source: .url("https://x/y.png")))])]
        #expect(throws: GatewayError.self) { try BedrockRequestEncoder.encode(request) }
        request.messages = [.init(role: .assistant, content: [.text("I start")])]
        #expect(throws: GatewayError.self) { try BedrockRequestEncoder.encode(request) }
        request.messages = [
            .init(role: .user, content: [.text("q")]),
            .init(role: .assistant, content: [.toolCall(.init(id: "a", name: "t", arguments: "[1]"))]),
        ]
        #expect(throws: GatewayError.self) { try BedrockRequestEncoder.encode(request) }
    }

    @Test(arguments: [
        ("anthropic.claude-3-haiku-20240307-v1:0", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"),
        (
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse"
        ),
        (
            "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0",
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.meta.llama3-2-1b-instruct-v1%3A0/converse"
        ),
    ])
    func theModelIdIsOneEscapedPathSegment(_ model: String, _ path: String) {
        #expect(
            BedrockProviderCodec.url(
                baseURL: "https://bedrock-runtime.us-east-1.amazonaws.com/", model: model, stream: false)
                == "https://bedrock-runtime.us-east-1.amazonaws.com" + path)
        #expect(
            BedrockProviderCodec.url(baseURL: "http://h", model: model, stream: true)
                == "http://h" + path.replacingOccurrences(of: "/converse", with: "/converse-stream"))
    }

    @Test func withoutAnAPIKeyTheRequestIsMarkedForSigV4InTheRegion() throws {
        let request = try BedrockProviderCodec.request(
            canonical(stream: true), provider: provider, apiKey: nil, timeouts: TimeoutConfiguration())
        #expect(request.awsSigning == AWSSigningScope(region: "eu-west-3", service: "bedrock"))
        #expect(!request.headers.contains { $0.name == "authorization" })
        #expect(request.headers.contains { $0 == ("accept", "application/vnd.amazon.eventstream") })
        #expect(request.url == "https://bedrock-runtime.eu-west-3.amazonaws.com/model/m/converse-stream")
    }

    @Test func aBedrockAPIKeyIsABearerWithoutSigning() throws {
        let request = try BedrockProviderCodec.request(
            canonical(), provider: provider, apiKey: "ABSKexample", timeouts: TimeoutConfiguration())
        #expect(request.awsSigning == nil)
        #expect(request.headers.contains { $0 == ("authorization", "Bearer ABSKexample") })
    }

    @Test func readsAConverseAnswer() throws {
        let response = try BedrockProviderCodec.response(try Fixture.bytes("bedrock/converse_response.json"))
        #expect(
            response.content == [
                .thinking(text: "Need the tool.", signature: "EqQBCgIYAh"), .text("Checking Rome."),
                .toolCall(.init(id: "tooluse_Zx81", name: "get_weather", arguments: #"{"city":"Rome"}"#)),
            ])
        #expect(response.stopReason == .toolCalls)
        // prompt = 31 + 2048 + 0, the cache read counted as cached.
        #expect(
            response.usage == TokenUsage(promptTokens: 2079, completionTokens: 22, cachedPromptTokens: 2048))
        let openAI = OpenAIChatResponseEncoder.encode(response, created: 1, model: "smart").text
        #expect(openAI.contains(#""finish_reason":"tool_calls""#))
        #expect(openAI.contains(#""prompt_tokens":2079"#))
        #expect(openAI.contains(#""cached_tokens":2048"#))
    }

    @Test(arguments: [
        ("end_turn", CanonicalStopReason.stop), ("stop_sequence", .stop), ("max_tokens", .length),
        ("model_context_window_exceeded", .length), ("tool_use", .toolCalls), ("guardrail_intervened", .contentFilter),
        ("content_filtered", .contentFilter),
    ])
    func stopReasonsMap(_ reason: String, _ expected: CanonicalStopReason) throws {
        let body = #"{"output":{"message":{"role":"assistant","content":[{"text":"x"}]}},"stopReason":"\#(reason)"}"#
        #expect(try BedrockProviderCodec.response(Array(body.utf8)).stopReason == expected)
    }

    @Test func malformedOutputIsARetryableError() {
        let body = #"{"output":{"message":{"role":"assistant","content":[]}},"stopReason":"malformed_model_output"}"#
        #expect(throws: CanonicalError.self) { try BedrockProviderCodec.response(Array(body.utf8)) }
    }
}

@Suite struct BedrockErrorClassifierTests {
    @Test(arguments: [
        (400, "ValidationException", CanonicalError.Kind.invalidRequest),
        (400, "ServiceQuotaExceededException", .upstreamBilling),
        (403, "AccessDeniedException", .upstreamAuthentication),
        (403, "InvalidSignatureException", .upstreamAuthentication),
        (403, "UnrecognizedClientException", .upstreamAuthentication),
        (403, "ExpiredTokenException", .upstreamAuthentication),
        (404, "ResourceNotFoundException", .notFound),
        (408, "ModelTimeoutException", .timeout),
        (424, "ModelErrorException", .server),
        (429, "ThrottlingException", .rateLimited),
        (429, "ModelNotReadyException", .overloaded),
        (500, "InternalServerException", .server),
        (503, "ServiceUnavailableException", .overloaded),
    ])
    func theErrorTypeHeaderDecides(_ status: Int, _ type: String, _ kind: CanonicalError.Kind) {
        let error = BedrockProviderCodec.error(
            status: status,
            headers: [("x-amzn-errortype", type + ":http://internal.amazon.com/coral/com.amazon.bedrock/")],
            body: Array(#"{"message":"Something happened."}"#.utf8))
        #expect(error.kind == kind)
        #expect(error.upstreamType == type)
        #expect(error.message == "Something happened.")
    }

    @Test func retryClassesFollowTheWireNotes() {
        func kind(_ type: String, _ status: Int) -> CanonicalError {
            BedrockProviderCodec.error(status: status, headers: [("x-amzn-errortype", type)], body: [])
        }
        #expect(kind("ThrottlingException", 429).isRetryable)
        #expect(kind("ModelNotReadyException", 429).isRetryable)
        #expect(kind("ServiceUnavailableException", 503).isRetryable)
        #expect(kind("ModelErrorException", 424).isRetryable)
        #expect(!kind("ValidationException", 400).isRetryable)
        #expect(kind("ValidationException", 400).gatewayError.status == 400)
    }

    @Test func aCapitalMessageAndAMissingHeaderStillClassify() {
        let error = BedrockProviderCodec.error(status: 424, body: Array(#"{"Message":"The model failed."}"#.utf8))
        #expect(error.kind == .server)
        #expect(error.message == "The model failed.")
        #expect(BedrockProviderCodec.error(status: 429, body: []).kind == .rateLimited)
    }

    @Test func aTooLongInputIsAContextLengthError() {
        let error = BedrockProviderCodec.error(
            status: 400, headers: [("X-Amzn-ErrorType", "ValidationException")],
            body: Array(#"{"message":"Input is too long for requested model."}"#.utf8))
        #expect(error.kind == .contextLength)
    }
}

import Foundation
import GatewayCore
import Testing

@testable import Dialects

/// Vertex AI URLs, credential headers and the two publishers' codecs (docs/wire/vertex.md).
@Suite struct VertexProviderCodecTests {
    static func provider(
        location: String = "us-east5", credentials: VertexConfiguration.Credentials = .serviceAccount(tokenURL: nil),
        publisher: VertexConfiguration.Publisher? = nil, apiVersion: String = "v1"
    ) -> ProviderConfiguration {
        let express = credentials == .apiKey
        var provider = ProviderConfiguration(
            name: "vx", kind: .vertex,
            baseURL: VertexConfiguration.defaultBaseURL(location: location, express: express))
        provider.vertex = VertexConfiguration(
            project: express ? nil : "my-project", location: location, apiVersion: apiVersion, publisher: publisher,
            credentials: credentials)
        return provider
    }

    static func headers(_ request: UpstreamRequest) -> [String: String] {
        Dictionary(uniqueKeysWithValues: request.headers.map { ($0.name, $0.value) })
    }

    @Test(arguments: [
        ("us-central1", "https://us-central1-aiplatform.googleapis.com"),
        ("global", "https://aiplatform.googleapis.com"),
        ("us", "https://aiplatform.us.rep.googleapis.com"),
        ("eu", "https://aiplatform.eu.rep.googleapis.com"),
    ])
    func eachLocationHasItsHost(location: String, host: String) {
        #expect(VertexConfiguration.defaultBaseURL(location: location, express: false) == host)
    }

    @Test func theResourcePathNamesProjectLocationPublisherAndModel() {
        let vertex = Self.provider(location: "global").vertex!
        #expect(
            VertexEndpoint.url(
                baseURL: "https://aiplatform.googleapis.com/", vertex: vertex, publisher: .google,
                model: "gemini-2.5-flash", method: "streamGenerateContent?alt=sse")
                == "https://aiplatform.googleapis.com/v1/projects/my-project/locations/global/publishers/google/"
                + "models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        // `@` stays literal; what is not unreserved is encoded.
        #expect(
            VertexEndpoint.url(
                baseURL: "http://127.0.0.1:1", vertex: vertex, publisher: .anthropic,
                model: "claude-sonnet-4-5@20250929#x;y", method: "rawPredict"
            )
            .hasSuffix("/publishers/anthropic/models/claude-sonnet-4-5@20250929%23x%3By:rawPredict"))
        let express = Self.provider(credentials: .apiKey).vertex!
        #expect(
            VertexEndpoint.url(
                baseURL: "https://aiplatform.googleapis.com", vertex: express, publisher: .google,
                model: "gemini-2.5-flash", method: "generateContent")
                == "https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-flash:generateContent")
    }

    @Test(arguments: [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5@20250929"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5@20250929"),
        ("claude-opus-4-6", "claude-opus-4-6"),
        ("claude-3-7-sonnet-20250219", "claude-3-7-sonnet@20250219"),
        ("claude-x-12345678", "claude-x-12345678"),
    ])
    func claudeDatesMoveBehindAnAt(model: String, vertexID: String) {
        #expect(VertexEndpoint.claudeModelID(model) == vertexID)
    }

    @Test func thePublisherIsConfiguredOrReadFromTheModelName() {
        let byName = Self.provider().vertex!
        #expect(byName.publisher(forModel: "claude-haiku-4-5@20251001") == .anthropic)
        #expect(byName.publisher(forModel: "gemini-2.5-pro") == .google)
        let forced = Self.provider(publisher: .anthropic)
        #expect(forced.vertex!.publisher(forModel: "my-tuned-model") == .anthropic)
        #expect(forced.codec(forModel: "my-tuned-model").name == VertexAnthropicProviderCodec.name)
        #expect(Self.provider().codec(forModel: "gemini-2.5-pro").name == VertexGeminiProviderCodec.name)
        #expect(Self.provider().isVertexClaude(model: "claude-opus-4-6"))
    }

    @Test func geminiGoesToGenerateContentWithABearerTokenAndTheGeminiBody() throws {
        var canonical = CanonicalRequest(
            model: "gemini-2.5-flash", messages: [.init(role: .user, content: [.text("Hi")])])
        var request = try VertexGeminiProviderCodec.request(
            canonical, provider: Self.provider(), apiKey: "ya29.token", timeouts: .init())
        #expect(
            request.url
                == "https://us-east5-aiplatform.googleapis.com/v1/projects/my-project/locations/us-east5/"
                + "publishers/google/models/gemini-2.5-flash:generateContent")
        let headers = Self.headers(request)
        #expect(headers["authorization"] == "Bearer ya29.token")
        #expect(headers["x-goog-api-key"] == nil)
        #expect(request.bodyText == #"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}]}"#)
        canonical.stream = true
        request = try VertexGeminiProviderCodec.request(
            canonical, provider: Self.provider(credentials: .apiKey), apiKey: "AQ.key", timeouts: .init())
        #expect(
            request.url
                == "https://aiplatform.googleapis.com/v1/publishers/google/models/gemini-2.5-flash:"
                + "streamGenerateContent?alt=sse")
        #expect(Self.headers(request)["x-goog-api-key"] == "AQ.key")
        #expect(Self.headers(request)["authorization"] == nil)
    }

    @Test func toolResultsCarryTheirRoleAndNoFunctionResponseID() throws {
        let canonical = CanonicalRequest(
            model: "gemini-2.5-flash",
            messages: [
                .init(role: .user, content: [.text("Weather?")]),
                .init(
                    role: .assistant,
                    content: [.toolCall(.init(id: "call_1", name: "get_weather", arguments: #"{"city":"Paris"}"#))]),
                .init(role: .tool, content: [.toolResult(.init(toolCallID: "call_1", content: [.text("18C")]))]),
            ])
        let request = try VertexGeminiProviderCodec.request(
            canonical, provider: Self.provider(), apiKey: "t", timeouts: .init())
        let body = try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
        let contents = try #require(body["contents"] as? [[String: Any]])
        #expect(contents.map { $0["role"] as? String } == ["user", "model", "user"])
        let response = try #require(
            ((contents[2]["parts"] as? [[String: Any]])?.first)?["functionResponse"] as? [String: Any])
        #expect(response["id"] == nil)
        #expect(response["name"] as? String == "get_weather")
    }

    @Test func claudeGoesToRawPredictWithoutModelAndWithTheVertexVersion() throws {
        var canonical = CanonicalRequest(
            model: "claude-sonnet-4-5-20250929", messages: [.init(role: .user, content: [.text("Hi")])])
        canonical.sampling.maxOutputTokens = 64
        var request = try VertexAnthropicProviderCodec.request(
            canonical, provider: Self.provider(), apiKey: "ya29.t", timeouts: .init())
        #expect(
            request.url
                == "https://us-east5-aiplatform.googleapis.com/v1/projects/my-project/locations/us-east5/"
                + "publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict")
        #expect(
            request.bodyText
                == #"{"max_tokens":64,"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}],"#
                + #""anthropic_version":"vertex-2023-10-16"}"#)
        let headers = Self.headers(request)
        #expect(headers["authorization"] == "Bearer ya29.t")
        #expect(headers["x-api-key"] == nil)
        #expect(headers["anthropic-version"] == nil)
        canonical.stream = true
        request = try VertexAnthropicProviderCodec.request(
            canonical, provider: Self.provider(), apiKey: "ya29.t", timeouts: .init())
        #expect(request.url.hasSuffix("/claude-sonnet-4-5@20250929:streamRawPredict"))
        #expect(request.bodyText.contains(#""stream":true"#))
        #expect(throws: GatewayError.self) {
            try VertexAnthropicProviderCodec.request(
                canonical, provider: Self.provider(credentials: .apiKey), apiKey: "k", timeouts: .init())
        }
    }

    @Test func aPassedThroughBodyLosesOnlyItsModelAndGainsTheVersion() throws {
        let body = Array(
            #"{"model":"claude","max_tokens":10, "anthropic_version":"2023-06-01","stream":true,"messages":[{"role":"user","content":"Hi"}]}"#
                .utf8)
        let request = try VertexAnthropicProviderCodec.passthroughRequest(
            body: body, model: "claude-haiku-4-5@20251001", provider: Self.provider(), secret: "ya29.t", stream: true,
            timeouts: .init(), beta: "context-1m-2025-08-07")
        #expect(
            request.bodyText
                == #"{"max_tokens":10,"stream":true,"messages":[{"role":"user","content":"Hi"}],"anthropic_version":"vertex-2023-10-16"}"#
        )
        #expect(Self.headers(request)["anthropic-beta"] == "context-1m-2025-08-07")
        #expect(Self.headers(request)["accept"] == "text/event-stream")
        #expect(request.url.hasSuffix("/claude-haiku-4-5@20251001:streamRawPredict"))
    }

    @Test func countTokensKeepsTheModelInTheBody() throws {
        let body = Array(#"{"model":"claude-sonnet-4-5@20250929","messages":[{"role":"user","content":"Hi"}]}"#.utf8)
        let request = try VertexAnthropicProviderCodec.countTokensRequest(
            body: body, provider: Self.provider(), secret: "ya29.t", timeouts: .init(), beta: nil)
        #expect(request.url.hasSuffix("/publishers/anthropic/models/count-tokens:rawPredict"))
        #expect(
            request.bodyText
                == #"{"model":"claude-sonnet-4-5@20250929","messages":[{"role":"user","content":"Hi"}],"#
                + #""anthropic_version":"vertex-2023-10-16"}"#)
    }

    @Test func errorsAreReadInGooglesShapeOrAnthropics() {
        let google = Array(
            #"[{"error":{"code":429,"message":"Resource exhausted. Please try again later.","status":"RESOURCE_EXHAUSTED"}}]"#
                .utf8)
        #expect(VertexAnthropicProviderCodec.error(status: 429, body: google).kind == .rateLimited)
        let expired = Array(
            #"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#
                .utf8)
        #expect(VertexAnthropicProviderCodec.error(status: 401, body: expired).kind == .upstreamAuthentication)
        #expect(VertexGeminiProviderCodec.error(status: 401, body: expired).kind == .upstreamAuthentication)
        let claude = Array(
            #"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}"#.utf8)
        let error = VertexAnthropicProviderCodec.error(status: 400, body: claude)
        #expect(error.kind == .invalidRequest)
        #expect(error.message == "max_tokens: Field required")
        let quota = Array(
            (#"{"error":{"code":429,"message":"Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model "#
                + #"with base model: anthropic-claude-3-5-sonnet. Please submit a quota increase request. "#
                + #"https://cloud.google.com/vertex-ai/docs/generative-ai/quotas-genai.","status":"RESOURCE_EXHAUSTED"}}"#)
                .utf8)
        #expect(VertexAnthropicProviderCodec.error(status: 429, body: quota).kind == .upstreamBilling)
        #expect(VertexGeminiProviderCodec.error(status: 429, body: quota).kind == .upstreamBilling)
        #expect(VertexGeminiProviderCodec.error(status: 429, body: google).kind == .rateLimited)
        let overloaded = Array(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.utf8)
        #expect(VertexAnthropicProviderCodec.error(status: 529, body: overloaded).kind == .overloaded)
    }

    @Test func aRelayedClaudeStreamLeavesOutVertexEvent() {
        let stream =
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_vrtx_1\",\"model\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}          }\n\n"
            + "event: vertex_event\ndata: {\"type\":\"vertex_event\",\"usage\":{\"input_tokens\":3}}\n\n"
            + "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
            + "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
            + "data: {\"type\":\"vertex_event\",\"usage\":{}}\n\n"
            + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        var relay = AnthropicStreamRelay(droppedEvents: ["vertex_event"])
        var output = relay.push(Array(stream.utf8))
        output += relay.finish()
        let text = String(decoding: output, as: UTF8.self)
        #expect(!text.contains("vertex_event"))
        #expect(text.contains("event: message_start"))
        #expect(text.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"))
        #expect(relay.sawDone)
        var plain = AnthropicStreamRelay()
        let untouched = String(decoding: plain.push(Array(stream.utf8)), as: UTF8.self)
        #expect(untouched == stream)
    }
}

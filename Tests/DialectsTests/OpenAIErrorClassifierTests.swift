import GatewayCore
import Testing

@testable import Dialects

@Suite struct OpenAIErrorClassifierTests {
    @Test(arguments: [
        ("error_context_length.json", 400, CanonicalError.Kind.contextLength, "invalid_request_error"),
        ("error_invalid_request.json", 400, .invalidRequest, "invalid_request_error"),
        ("error_invalid_api_key.json", 401, .upstreamAuthentication, "invalid_request_error"),
        ("error_unsupported_region.json", 403, .upstreamAuthentication, "request_forbidden"),
        ("error_model_not_found.json", 404, .notFound, "invalid_request_error"),
        ("error_rate_limit.json", 429, .rateLimited, "tokens"),
        ("error_request_too_large.json", 429, .upstreamBilling, "tokens"),
        ("error_insufficient_quota.json", 429, .upstreamBilling, "insufficient_quota"),
        ("error_server.json", 500, .server, "server_error"),
        ("error_overloaded.json", 503, .overloaded, "server_error"),
        ("error_azure_content_filter.json", 400, .invalidRequest, "content_filter"),
        ("error_azure_unauthorized.json", 401, .upstreamAuthentication, "401"),
        ("error_azure_deployment_not_found.json", 404, .notFound, "DeploymentNotFound"),
        ("error_azure_rate_limit.json", 429, .rateLimited, "429"),
    ])
    func classifiesErrorBodies(fixture: String, status: Int, kind: CanonicalError.Kind, upstreamType: String) throws {
        let body = try Fixture.bytes("openai/" + fixture)
        let error = OpenAIProviderCodec.error(status: status, body: body)
        #expect(error.kind == kind)
        #expect(error.upstreamStatus == status)
        #expect(error.upstreamType == upstreamType)
        #expect(error.message == OpenAIProviderCodec.errorMessage(inBody: body))
    }

    @Test(arguments: [
        (400, CanonicalError.Kind.invalidRequest), (401, .upstreamAuthentication), (402, .upstreamBilling),
        (403, .upstreamAuthentication), (404, .notFound), (405, .invalidRequest), (408, .timeout), (409, .server),
        (413, .payloadTooLarge), (422, .invalidRequest), (429, .rateLimited), (500, .server), (502, .server),
        (503, .overloaded), (504, .timeout), (529, .overloaded),
    ])
    func theStatusDecidesForBodiesWithoutDetail(status: Int, kind: CanonicalError.Kind) {
        for body in ["<html><body>Bad Gateway</body></html>", "", "{}", #"{"error":null}"#] {
            let error = OpenAIProviderCodec.error(status: status, body: Array(body.utf8))
            #expect(error.kind == kind, "\(body)")
            #expect(error.message == "The provider answered HTTP \(status).")
            #expect(error.upstreamStatus == status)
            #expect(error.upstreamType == nil)
        }
    }

    @Test func readsStringAndFlatErrorShapes() {
        let ollama = OpenAIProviderCodec.error(
            status: 404, body: Array(#"{"error":"model \"llama9\" not found"}"#.utf8))
        #expect(ollama.kind == .notFound)
        #expect(ollama.message == #"model "llama9" not found"#)
        let vllm = OpenAIProviderCodec.error(
            status: 400,
            body: Array(
                (#"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, "#
                    + #"you requested 5000 tokens.","type":"BadRequestError","param":null,"code":400}"#)
                    .utf8))
        #expect(vllm.kind == .contextLength)
        #expect(vllm.upstreamType == "BadRequestError")
        let llamaCPP = OpenAIProviderCodec.error(
            status: 400,
            body: Array(
                (#"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","#
                    + #""type":"exceed_context_size_error"}}"#)
                    .utf8))
        #expect(llamaCPP.kind == .contextLength)
        let fastAPI = OpenAIProviderCodec.error(status: 422, body: Array(#"{"detail":"Field required"}"#.utf8))
        #expect(fastAPI.kind == .invalidRequest)
        #expect(fastAPI.message == "Field required")
    }

    @Test func contextLengthIsReadFromCodeOrMessage() {
        for body in [
            #"{"error":{"message":"too many tokens","type":"invalid_request_error","code":"context_length_exceeded"}}"#,
            #"{"error":{"message":"Prompt is too long for the context window","type":"invalid_request_error"}}"#,
        ] {
            #expect(OpenAIProviderCodec.error(status: 400, body: Array(body.utf8)).kind == .contextLength)
            #expect(OpenAIProviderCodec.error(status: 422, body: Array(body.utf8)).kind == .contextLength)
        }
        let serverSide = #"{"error":{"message":"maximum context length cache failure","type":"server_error"}}"#
        #expect(OpenAIProviderCodec.error(status: 500, body: Array(serverSide.utf8)).kind == .server)
    }

    @Test func contextLengthIsTheClientsError() throws {
        let error = OpenAIProviderCodec.error(status: 400, body: try Fixture.bytes("openai/error_context_length.json"))
        #expect(error.status == 400)
        #expect(!error.isRetryable)
        let body = try #require(FoundationJSON.object(error.openAIBody)?["error"] as? [String: Any])
        #expect(body["code"] as? String == "context_length_exceeded")
        #expect(body["param"] as? String == "messages")
    }

    @Test func retryabilityFollowsTheKind() throws {
        let quota = OpenAIProviderCodec.error(
            status: 429, body: try Fixture.bytes("openai/error_insufficient_quota.json"))
        #expect(!quota.isRetryable)
        #expect(quota.status == 502)
        let filter = OpenAIProviderCodec.error(
            status: 400, body: try Fixture.bytes("openai/error_azure_content_filter.json"))
        #expect(!filter.isRetryable)
        #expect(filter.status == 400)
        #expect(
            OpenAIProviderCodec.error(status: 429, body: try Fixture.bytes("openai/error_rate_limit.json")).isRetryable)
        #expect(
            OpenAIProviderCodec.error(status: 503, body: try Fixture.bytes("openai/error_overloaded.json")).status
                == 503)
    }

    /// In-stream errors have no HTTP status: the body's `status` or numeric `code`, then the names decide.
    @Test(arguments: [
        (#"{"error":{"message":"m","type":"server_error","param":null,"code":null}}"#, CanonicalError.Kind.server),
        (#"{"error":{"message":"m","type":"invalid_request_error","code":"context_length_exceeded"}}"#, .contextLength),
        (#"{"error":{"message":"m","type":"insufficient_quota","code":"insufficient_quota"}}"#, .upstreamBilling),
        (#"{"error":{"message":"m","type":"tokens","code":"rate_limit_exceeded"}}"#, .rateLimited),
        (#"{"error":{"message":"m","type":"invalid_request_error","code":"model_not_found"}}"#, .notFound),
        (#"{"error":{"message":"m","type":"server_error","code":"timeout"}}"#, .timeout),
        (#"{"error":{"message":"m","code":"429"}}"#, .rateLimited),
        (#"{"error":{"message":"m","code":503}}"#, .overloaded),
        (#"{"error":{"message":"m","type":null,"code":"content_filter","status":400}}"#, .invalidRequest),
        (#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, .overloaded),
        (#"{"error":{"message":"m","type":"something_new"}}"#, .server),
    ])
    func classifiesWithoutAStatus(body: String, kind: CanonicalError.Kind) {
        let error = OpenAIErrorClassifier.classify(status: nil, body: Array(body.utf8))
        #expect(error.kind == kind)
        #expect(error.upstreamStatus == nil)
    }

    /// What the gateway's own encoders write comes back as the same kind, with and without a status.
    @Test(arguments: [
        CanonicalError.Kind.invalidRequest, .contextLength, .notFound, .payloadTooLarge, .rateLimited, .timeout,
        .server, .overloaded,
    ])
    func readsTheGatewaysOwnErrorBodies(kind: CanonicalError.Kind) {
        let original = CanonicalError(kind, message: "Something failed.")
        let withStatus = OpenAIProviderCodec.error(status: original.status, body: original.openAIBody)
        #expect(withStatus.kind == kind)
        #expect(withStatus.message == "Something failed.")
        let inStream = OpenAIErrorClassifier.classify(status: nil, body: original.openAIBody)
        #expect(inStream.isRetryable == original.isRetryable)
    }
}

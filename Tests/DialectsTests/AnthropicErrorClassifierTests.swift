import GatewayCore
import Testing

@testable import Dialects

@Suite struct AnthropicErrorClassifierTests {
    @Test(arguments: [
        ("anthropic/error_overloaded.json", 529, CanonicalError.Kind.overloaded, 503, "server_error", true),
        ("anthropic/error_rate_limit.json", 429, .rateLimited, 429, "rate_limit_exceeded", true),
        ("anthropic/error_authentication.json", 401, .upstreamAuthentication, 502, "server_error", false),
        ("anthropic/error_prompt_too_long.json", 400, .contextLength, 400, "invalid_request_error", false),
        ("anthropic/error_invalid_request.json", 400, .invalidRequest, 400, "invalid_request_error", false),
    ])
    func classifiesErrorBodies(
        fixture: String,
        status: Int,
        kind: CanonicalError.Kind,
        clientStatus: Int,
        openAIType: String,
        retryable: Bool
    ) throws {
        let error = AnthropicProviderCodec.error(status: status, body: try Fixture.bytes(fixture))
        #expect(error.kind == kind)
        #expect(error.status == clientStatus)
        #expect(error.openAIType == openAIType)
        #expect(error.isRetryable == retryable)
        #expect(error.upstreamStatus == status)
        #expect(!error.message.isEmpty)
    }

    @Test func marksContextLengthForTheClient() throws {
        let error = AnthropicProviderCodec.error(
            status: 400, body: try Fixture.bytes("anthropic/error_prompt_too_long.json"))
        let body = try #require(FoundationJSON.object(error.openAIBody)?["error"] as? [String: Any])
        #expect(body["code"] as? String == "context_length_exceeded")
        #expect(body["param"] as? String == "messages")
        #expect((body["message"] as? String)?.hasPrefix("prompt is too long") == true)
    }

    @Test func fallsBackToTheStatusForNonStandardBodies() {
        let error = AnthropicProviderCodec.error(status: 413, body: Array("<html>too large</html>".utf8))
        #expect(error.kind == .payloadTooLarge)
        #expect(error.status == 413)
        #expect(AnthropicProviderCodec.error(status: 529, body: []).kind == .overloaded)
        #expect(AnthropicProviderCodec.error(status: 500, body: []).isRetryable)
    }
}

import GatewayCore
import Testing

@testable import Dialects

@Suite struct GeminiErrorClassifierTests {
    @Test(arguments: [
        ("gemini/error_rate_limit.json", 429, CanonicalError.Kind.rateLimited, 429, true),
        ("gemini/error_daily_quota.json", 429, .upstreamBilling, 502, false),
        ("gemini/error_overloaded.json", 503, .overloaded, 503, true),
        ("gemini/error_internal.json", 500, .server, 502, true),
        ("gemini/error_api_key_invalid.json", 400, .upstreamAuthentication, 502, false),
        ("gemini/error_permission_denied.json", 403, .upstreamAuthentication, 502, false),
        ("gemini/error_context_length.json", 400, .contextLength, 400, false),
        ("gemini/error_invalid_argument.json", 400, .invalidRequest, 400, false),
        ("gemini/error_not_found.json", 404, .notFound, 404, false),
    ])
    func classifiesErrorBodies(
        fixture: String, status: Int, kind: CanonicalError.Kind, clientStatus: Int, retryable: Bool
    ) throws {
        let error = GeminiProviderCodec.error(status: status, body: try Fixture.bytes(fixture))
        #expect(error.kind == kind)
        #expect(error.status == clientStatus)
        #expect(error.isRetryable == retryable)
        #expect(error.upstreamStatus == status)
        #expect(!error.message.isEmpty)
    }

    @Test func readsTheWaitFromRetryInfo() throws {
        let limited = GeminiProviderCodec.error(status: 429, body: try Fixture.bytes("gemini/error_rate_limit.json"))
        #expect(limited.retryAfter == .seconds(47))
        let fractional = Array(
            #"{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"0.25s"}]}}"#
                .utf8)
        #expect(GeminiProviderCodec.error(status: 429, body: fractional).retryAfter == .milliseconds(250))
        let overloaded = GeminiProviderCodec.error(status: 503, body: try Fixture.bytes("gemini/error_overloaded.json"))
        #expect(overloaded.retryAfter == nil)
    }

    @Test func marksContextLengthForTheClient() throws {
        let error = GeminiProviderCodec.error(status: 400, body: try Fixture.bytes("gemini/error_context_length.json"))
        let body = try #require(FoundationJSON.object(error.openAIBody)?["error"] as? [String: Any])
        #expect(body["code"] as? String == "context_length_exceeded")
        #expect(error.upstreamType == "INVALID_ARGUMENT")
    }

    @Test func readsArrayWrappedBodiesAndFallsBackToTheStatus() {
        let wrapped = Array(#"[{"error":{"code":404,"message":"gone","status":"NOT_FOUND"}}]"#.utf8)
        #expect(GeminiProviderCodec.error(status: 404, body: wrapped).kind == .notFound)
        #expect(GeminiProviderCodec.error(status: 401, body: Array("<html>".utf8)).kind == .upstreamAuthentication)
        #expect(GeminiProviderCodec.error(status: 500, body: []).kind == .server)
        #expect(GeminiProviderCodec.error(status: 504, body: []).kind == .timeout)
        let precondition = Array(#"{"error":{"code":400,"message":"billing","status":"FAILED_PRECONDITION"}}"#.utf8)
        #expect(GeminiProviderCodec.error(status: 400, body: precondition).kind == .upstreamBilling)
    }
}

@Suite struct GeminiRetryDelayBoundsTests {
    @Test(arguments: [
        ("1e300s", RetryPolicy.maximumProviderDelay), ("infs", RetryPolicy.maximumProviderDelay),
        ("47s", Duration.seconds(47)), ("0.5s", .milliseconds(500)),
    ])
    func retryDelayIsCapped(text: String, expected: Duration) {
        let detail = JSONObject([
            .init(key: "@type", value: .string("type.googleapis.com/google.rpc.RetryInfo")),
            .init(key: "retryDelay", value: .string(text)),
        ])
        #expect(GeminiErrorClassifier.retryDelay(detail) == expected)
    }

    @Test(arguments: ["-5s", "nans", "5", "s"])
    func unreadableRetryDelaysAreIgnored(text: String) {
        let detail = JSONObject([
            .init(key: "@type", value: .string("type.googleapis.com/google.rpc.RetryInfo")),
            .init(key: "retryDelay", value: .string(text)),
        ])
        #expect(GeminiErrorClassifier.retryDelay(detail) == nil)
    }
}

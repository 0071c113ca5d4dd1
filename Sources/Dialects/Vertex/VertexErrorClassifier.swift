import GatewayCore

/// Vertex AI's error answers: Google's `google.rpc.Status` shape (also array-wrapped) by the
/// Gemini rules, Claude's own Anthropic shape by Anthropic's; and one Vertex reading on top
/// (docs/wire/vertex.md §3, pitfall 10): a 429 "Quota exceeded … quota increase request" is a quota
/// that waiting never raises (often 0 for Claude on a new project), so it is billing, not a rate
/// limit: the next target, no retry. Dynamic Shared Quota's "Resource exhausted" stays a rate limit.
enum VertexErrorClassifier {
    static func classify(status: Int, body: [UInt8]) -> CanonicalError {
        var error: CanonicalError
        if let object = GeminiErrorClassifier.errorObject(body), object["status"] != nil || object["code"] != nil {
            error = GeminiErrorClassifier.classify(status: status, error: object)
        } else {
            error = AnthropicProviderCodec.error(status: status, body: body)
        }
        let message = error.message.lowercased()
        if error.kind == .rateLimited, message.contains("quota exceeded"), message.contains("quota increase") {
            error.kind = .upstreamBilling
        }
        return error
    }
}

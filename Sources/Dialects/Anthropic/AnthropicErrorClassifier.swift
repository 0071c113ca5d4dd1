import GatewayCore

/// Anthropic error bodies (`{"type":"error","error":{"type","message"},"request_id"}`), over HTTP
/// or as an in-stream `error` event, classified as `CanonicalError`s. The error `type` decides
/// when it is known; the status otherwise (a 413 from Anthropic's edge has a non-standard body).
enum AnthropicErrorClassifier {
    static func classify(status: Int?, body: [UInt8]) -> CanonicalError {
        let error = JSONScanner.parseObject(body)?["error"]?.object
        return classify(status: status, type: error?["type"]?.string, message: error?["message"]?.string)
    }

    static func classify(status: Int?, type: String?, message: String?) -> CanonicalError {
        let text = message ?? status.map { "The provider answered HTTP \($0)." } ?? "The provider failed."
        var kind = type.flatMap(kind(forType:)) ?? status.map { CanonicalError.Kind(httpStatus: $0) } ?? .server
        if kind == .invalidRequest, isContextLength(text) { kind = .contextLength }
        return CanonicalError(kind, message: text, upstreamStatus: status, upstreamType: type)
    }

    static func isContextLength(_ message: String) -> Bool {
        let lower = message.lowercased()
        return lower.contains("prompt is too long") || lower.contains("context window")
            || lower.contains("maximum context length")
    }

    private static func kind(forType type: String) -> CanonicalError.Kind? {
        switch type {
        case "invalid_request_error": .invalidRequest
        case "authentication_error", "permission_error": .upstreamAuthentication
        case "billing_error": .upstreamBilling
        case "not_found_error": .notFound
        case "request_too_large": .payloadTooLarge
        case "rate_limit_error": .rateLimited
        case "overloaded_error": .overloaded
        case "timeout_error": .timeout
        case "api_error": .server
        default: nil
        }
    }
}

import GatewayCore

extension OpenAIProviderCodec {
    /// Classifies a non-2xx answer from an OpenAI-compatible or Azure provider (see
    /// `OpenAIErrorClassifier`).
    public static func error(status: Int, body: [UInt8]) -> CanonicalError {
        OpenAIErrorClassifier.classify(status: status, body: body)
    }
}

/// OpenAI-shaped error bodies, over HTTP or as an in-stream `data: {"error":…}` event, classified as
/// `CanonicalError`s (docs/wire/openai.md, docs/wire/azure.md). Shapes read:
/// - OpenAI's `{"error":{"message","type","param","code"}}`, with Azure's extras (`status`,
///   `innererror`) and its gateway form `{"error":{"code":"429","message"}}`;
/// - `{"error":"text"}` (Ollama and others) and vLLM's flat `{"object":"error","message","type","code"}`;
/// - anything else (HTML from a proxy, an empty body): the status alone decides.
///
/// The HTTP status decides first (Azure's `code` may be `"429"`, `type` missing); without one (an
/// in-stream error) the body's `status`, a numeric `code`, then `code` and `type` names decide.
/// Refinements: a 400/422 about the context window is `contextLength`; a 429 with
/// `insufficient_quota`, or saying "request too large", never heals by waiting and reads as
/// `upstreamBilling` (the account's limits, like the passthrough's failover class).
enum OpenAIErrorClassifier {
    static func classify(status: Int?, body: [UInt8]) -> CanonicalError {
        classify(status: status, root: JSONScanner.parseObject(body))
    }

    /// `root`: the parsed body (or in-stream event), when it is a JSON object.
    static func classify(status: Int?, root: JSONObject?) -> CanonicalError {
        let fields = Fields(root)
        let effectiveStatus = status ?? fields.status
        let message =
            fields.message ?? effectiveStatus.map { "The provider answered HTTP \($0)." } ?? "The provider failed."
        var kind =
            effectiveStatus.map { CanonicalError.Kind(httpStatus: $0) } ?? fields.code.flatMap(kind(forName:))
            ?? fields.type.flatMap(kind(forName:)) ?? .server
        let named = [fields.code, fields.type].compactMap { $0 }.compactMap(kind(forName:))
        switch kind {
        case .invalidRequest:
            if named.contains(.contextLength) || isContextLength(message) {
                kind = .contextLength
            }
        case .rateLimited:
            if named.contains(.upstreamBilling) || message.lowercased().contains("request too large") {
                kind = .upstreamBilling
            }
        default:
            break
        }
        return CanonicalError(kind, message: message, upstreamStatus: status, upstreamType: fields.type ?? fields.code)
    }

    /// OpenAI's and vLLM's "maximum context length", llama.cpp's "context size", Anthropic-style
    /// servers' "prompt is too long".
    static func isContextLength(_ message: String) -> Bool {
        let lower = message.lowercased()
        return lower.contains("context length") || lower.contains("context window") || lower.contains("context size")
            || lower.contains("prompt is too long")
    }

    /// What an error body says, whatever its shape.
    private struct Fields {
        var message: String?
        var type: String?
        var code: String?
        /// A status in the body: Azure's `status`, or a numeric `code` (llama.cpp, vLLM, Azure's `"429"`).
        var status: Int?

        init(_ root: JSONObject?) {
            guard let root else { return }
            let error: JSONObject
            if let object = root["error"]?.object {
                error = object
            } else if let text = root["error"]?.string {
                message = text.isEmpty ? nil : text
                return
            } else if root["object"]?.string == "error" {
                error = root
            } else {
                message = root["detail"]?.string.flatMap { $0.isEmpty ? nil : $0 }
                return
            }
            message = error["message"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            type = error["type"]?.string.flatMap { $0.isEmpty ? nil : $0 }
            if let text = error["code"]?.string, !text.isEmpty {
                code = text
                status = Int(text).flatMap { (100..<600).contains($0) ? $0 : nil }
            } else if let number = error["code"]?.int, (100..<600).contains(number) {
                status = number
            }
            if let number = error["status"]?.int, (100..<600).contains(number) { status = number }
        }
    }

    /// An `error.code` or `error.type` (OpenAI's, Azure's, or what other servers and gateways send).
    private static func kind(forName name: String) -> CanonicalError.Kind? {
        switch name {
        case "context_length_exceeded", "exceed_context_size_error": .contextLength
        case "invalid_request_error", "content_filter", "BadRequestError": .invalidRequest
        case "invalid_api_key", "authentication_error", "permission_error", "request_forbidden":
            .upstreamAuthentication
        case "insufficient_quota", "billing_error": .upstreamBilling
        case "model_not_found", "DeploymentNotFound", "not_found_error", "NotFoundError": .notFound
        case "request_too_large": .payloadTooLarge
        case "rate_limit_exceeded", "rate_limit_error", "tokens", "requests": .rateLimited
        case "overloaded_error", "ServiceUnavailable": .overloaded
        case "timeout", "timeout_error": .timeout
        case "server_error", "api_error", "upstream_error", "InternalServerError": .server
        default: nil
        }
    }
}

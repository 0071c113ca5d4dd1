import GatewayCore

/// Gemini error bodies (`google.rpc.Status`: `{"error":{"code","message","status","details"}}`,
/// possibly wrapped in an array by Vertex), over HTTP or as an in-stream `data:` event, classified
/// as `CanonicalError`s.
///
/// - 429 `RESOURCE_EXHAUSTED` is a rate limit, unless a `QuotaFailure` names a daily quota
///   (`quotaId` containing `PerDay`): that is quota exhaustion (`upstreamBilling`).
/// - A bad key is a 400 `INVALID_ARGUMENT` with `details[].reason` `API_KEY_INVALID`; it reads as
///   `upstreamAuthentication`, like 401 and 403.
/// - `RetryInfo.retryDelay` becomes `retryAfter`, so a rate-limited target is retried when Gemini says.
/// - Other 400s are `invalidRequest`, or `contextLength` when the message says the input token count
///   exceeds the limit; 400 `FAILED_PRECONDITION` (billing or region) is `upstreamBilling`.
enum GeminiErrorClassifier {
    static func classify(status: Int?, body: [UInt8]) -> CanonicalError {
        classify(status: status, error: errorObject(body))
    }

    /// The `error` member of a Gemini error body (or of its first array element), if any.
    static func errorObject(_ body: [UInt8]) -> JSONObject? {
        switch try? JSONScanner.parse(body) {
        case .object(let root): root["error"]?.object
        case .array(let elements): elements.first?["error"]?.object
        default: nil
        }
    }

    static func classify(status: Int?, error: JSONObject?) -> CanonicalError {
        let code = status ?? error?["code"]?.int
        let rpcStatus = error?["status"]?.string
        let message = error?["message"]?.string
        let text = message ?? code.map { "The provider answered HTTP \($0)." } ?? "The provider failed."
        let details = objects(error?["details"])
        let reasons = details.compactMap { $0["reason"]?.string }
        let quotaIDs = details.flatMap { detail in
            objects(detail["violations"]).compactMap { $0["quotaId"]?.string }
        }
        var kind =
            reasons.contains("API_KEY_INVALID")
            ? .upstreamAuthentication
            : rpcStatus.flatMap(kind(forStatus:)) ?? code.map { CanonicalError.Kind(httpStatus: $0) } ?? .server
        if kind == .rateLimited, quotaIDs.contains(where: { $0.contains("PerDay") }) { kind = .upstreamBilling }
        if kind == .invalidRequest, isContextLength(text) { kind = .contextLength }
        var error = CanonicalError(kind, message: text, upstreamStatus: status, upstreamType: rpcStatus)
        error.retryAfter = details.lazy.compactMap { retryDelay($0) }.first
        return error
    }

    /// `RetryInfo.retryDelay` (a protobuf Duration as JSON: `"47s"`, `"0.5s"`), the wait Gemini
    /// asks for on a 429 instead of a `retry-after` header.
    static func retryDelay(_ detail: JSONObject) -> Duration? {
        guard detail["@type"]?.string?.hasSuffix("google.rpc.RetryInfo") == true,
            let text = detail["retryDelay"]?.string, text.hasSuffix("s"),
            let seconds = Double(text.dropLast())
        else { return nil }
        return RetryPolicy.providerDelay(seconds: seconds)
    }

    /// An array of objects (`details`, `violations`); empty when it is anything else, or holds
    /// anything but objects.
    private static func objects(_ value: JSONValue?) -> [JSONObject] {
        guard let elements = value?.array else { return [] }
        let objects = elements.compactMap(\.object)
        return objects.count == elements.count ? objects : []
    }

    static func isContextLength(_ message: String) -> Bool {
        let lower = message.lowercased()
        return (lower.contains("input token count") && lower.contains("exceed"))
            || lower.contains("exceeds the maximum number of tokens") || lower.contains("context window")
    }

    private static func kind(forStatus status: String) -> CanonicalError.Kind? {
        switch status {
        case "INVALID_ARGUMENT", "OUT_OF_RANGE": .invalidRequest
        case "FAILED_PRECONDITION": .upstreamBilling
        case "UNAUTHENTICATED", "PERMISSION_DENIED": .upstreamAuthentication
        case "NOT_FOUND": .notFound
        case "RESOURCE_EXHAUSTED": .rateLimited
        case "UNAVAILABLE": .overloaded
        case "DEADLINE_EXCEEDED": .timeout
        case "INTERNAL", "UNKNOWN": .server
        default: nil
        }
    }
}

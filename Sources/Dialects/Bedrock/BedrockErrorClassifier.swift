import GatewayCore

/// Bedrock errors, classified as `CanonicalError`s (docs/wire/bedrock.md §6): over HTTP the name is
/// in the `x-amzn-errortype` header (the part before the first `:`) and the body is
/// `{"message":…}` (or `{"Message":…}`); in a stream it is an exception frame's `:exception-type`
/// (`throttlingException`), compared without regard to the first letter's case.
///
/// - `ThrottlingException` is a rate limit; `ModelNotReadyException`, `ServiceUnavailableException`
///   mean overloaded, `InternalServerException`, `ModelErrorException` (424) and
///   `ModelStreamErrorException` a server fault, `ModelTimeoutException` a timeout: all retried.
/// - `AccessDeniedException` and the generic AWS auth errors (`UnrecognizedClientException`,
///   `InvalidSignatureException`, `ExpiredTokenException`, …) are the gateway's credentials.
/// - `ServiceQuotaExceededException` is quota exhaustion (never heals by waiting): billing.
/// - `ValidationException` is the request's fault (context length when the message says the input
///   is too long); `ResourceNotFoundException` a missing model.
/// - Without a known name, the status decides (424 as a server fault).
enum BedrockErrorClassifier {
    static func classify(status: Int?, headers: [(name: String, value: String)], body: [UInt8]) -> CanonicalError {
        let header = headers.first { $0.name.lowercased() == "x-amzn-errortype" }?.value
        return classify(status: status, type: header.map(errorName), body: body)
    }

    static func classify(status: Int?, type: String?, body: [UInt8]) -> CanonicalError {
        let object = JSONScanner.parseObject(body)
        let message = object?["message"]?.string ?? object?["Message"]?.string
        return classify(status: status, type: type, message: message)
    }

    static func classify(status: Int?, type: String?, message: String?) -> CanonicalError {
        let text = message ?? status.map { "The provider answered HTTP \($0)." } ?? "The provider failed."
        var kind =
            type.flatMap(kind(forType:))
            ?? status.map { $0 == 424 ? CanonicalError.Kind.server : CanonicalError.Kind(httpStatus: $0) } ?? .server
        if kind == .invalidRequest, isContextLength(text) { kind = .contextLength }
        return CanonicalError(kind, message: text, upstreamStatus: status, upstreamType: type.map(capitalized))
    }

    /// `ThrottlingException:http://internal.amazon.com/coral/…` → `ThrottlingException`.
    static func errorName(_ header: String) -> String {
        String(header.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            .trimmingCharacters()
    }

    static func isContextLength(_ message: String) -> Bool {
        let lower = message.lowercased()
        return lower.contains("input is too long") || lower.contains("too many input tokens")
            || lower.contains("context window") || lower.contains("prompt is too long")
            || lower.contains("maximum context length")
    }

    private static func capitalized(_ name: String) -> String {
        name.prefix(1).uppercased() + name.dropFirst()
    }

    private static func kind(forType type: String) -> CanonicalError.Kind? {
        switch capitalized(type) {
        case "ValidationException", "ConflictException", "SerializationException": .invalidRequest
        case "AccessDeniedException", "UnrecognizedClientException", "InvalidSignatureException",
            "ExpiredTokenException", "IncompleteSignatureException", "MissingAuthenticationTokenException",
            "InvalidClientTokenId", "SignatureDoesNotMatch":
            .upstreamAuthentication
        case "ServiceQuotaExceededException": .upstreamBilling
        case "ResourceNotFoundException": .notFound
        case "ThrottlingException", "TooManyRequestsException": .rateLimited
        case "ModelNotReadyException", "ServiceUnavailableException": .overloaded
        case "ModelTimeoutException": .timeout
        case "InternalServerException", "ModelErrorException", "ModelStreamErrorException", "InternalFailure":
            .server
        default: nil
        }
    }
}

extension String {
    fileprivate func trimmingCharacters() -> String {
        var slice = self[...]
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return String(slice)
    }
}

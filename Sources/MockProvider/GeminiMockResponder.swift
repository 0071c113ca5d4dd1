import Foundation
import NIOCore
import NIOHTTP1

/// The Gemini API dialect (AI Studio): `POST /v1beta/models/{model}:generateContent`,
/// `:streamGenerateContent?alt=sse` (SSE, CRLF by default, as observed) or without `alt=sse` (a JSON array),
/// `:countTokens`, and `GET /v1beta/models[/{model}]`, as in `docs/wire/gemini.md`. Strict like the real API.
struct GeminiMockResponder: MockDialectResponder {
    /// The only key accepted when set.
    let expectedKey: String?
    /// What ends each SSE line: `\r\n` (default, as observed) or `\n`.
    let lineEnding: String
    let ids = MockIDGenerator()

    static let models = ["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite", "gemini-2.0-flash"]

    func authenticate(_ request: MockRequest) -> MockReply? {
        let key = request.head.headers.first(name: "x-goog-api-key") ?? Self.query(request)["key"] ?? ""
        if key.isEmpty {
            if request.head.headers.contains(name: "authorization") {
                return status(
                    401, "UNAUTHENTICATED",
                    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                        + "other valid authentication credential. See "
                        + "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                    details: [Self.errorInfo("ACCESS_TOKEN_TYPE_UNSUPPORTED")]
                )
            }
            return status(
                403, "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established identity). Please use API "
                    + "Key or other form of API consumer identity to call this API.",
                details: [Self.errorInfo("CONSUMER_INVALID")]
            )
        }
        if let expectedKey, key != expectedKey {
            return status(
                400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                details: [
                    Self.errorInfo("API_KEY_INVALID"),
                    #"{"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","#
                        + #""message":"API key not valid. Please pass a valid API key."}"#,
                ]
            )
        }
        return nil
    }

    func respond(to request: MockRequest) -> MockResponderResult {
        let path = request.path
        let prefix = "/v1beta/models"
        guard path.hasPrefix(prefix) else { return .reply(notFound(request)) }
        let rest = path.dropFirst(prefix.count)
        if rest.isEmpty {
            guard request.method == .GET else { return .reply(notFound(request)) }
            return .answer(modelList(), model: nil, faultSuffix: nil)
        }
        guard rest.hasPrefix("/") else { return .reply(notFound(request)) }
        let resource = rest.dropFirst()
        guard let colon = resource.lastIndex(of: ":") else {
            guard request.method == .GET else { return .reply(notFound(request)) }
            let (model, faults) = Self.model(resource)
            guard Self.isKnown(model) else { return .reply(modelNotFound(model, method: "get")) }
            return .answer(pretty(Self.modelObject(model)), model: model, faultSuffix: faults)
        }
        let (model, faults) = Self.model(resource[..<colon])
        let method = resource[resource.index(after: colon)...]
        guard request.method == .POST, ["generateContent", "streamGenerateContent", "countTokens"].contains(method)
        else { return .reply(notFound(request)) }
        if !Self.isKnown(model) { return .reply(modelNotFound(model, method: String(method))) }
        return generate(
            request, model: model, faults: faults, method: String(method), sse: Self.query(request)["alt"] == "sse"
        )
    }

    func finishHeaders(_ headers: inout HTTPHeaders, processingMilliseconds: Int) {
        headers.add(name: "server-timing", value: "gfet4t7; dur=\(processingMilliseconds)")
    }

    func headers(contentType: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "vary", value: "Origin, X-Origin, Referer")
        headers.add(name: "server", value: "scaffolding on HTTPServer2")
        headers.add(name: "x-content-type-options", value: "nosniff")
        return headers
    }

    /// A pretty-printed JSON reply, as Google sends non-stream and error bodies.
    func pretty(_ compact: String, status: Int = 200) -> MockReply {
        MockReply(
            status: HTTPResponseStatus(statusCode: status),
            headers: headers(contentType: "application/json; charset=UTF-8"),
            body: .full(GeminiMockJSON.pretty(compact))
        )
    }

    /// `{"error":{"code","message","status","details"}}` (google.rpc.Status); `details` only when given.
    func status(_ code: Int, _ status: String, _ message: String, details: [String] = []) -> MockReply {
        pretty(Self.statusBody(code, status, message, details: details), status: code)
    }

    static func statusBody(_ code: Int, _ status: String, _ message: String, details: [String] = []) -> String {
        var body = #"{"error":{"code":\#(code),"message":"#
        MockJSON.appendQuoted(message, to: &body)
        body += #","status":"\#(status)""#
        if !details.isEmpty { body += #","details":["# + details.joined(separator: ",") + "]" }
        return body + "}}"
    }

    static func errorInfo(_ reason: String) -> String {
        #"{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"\#(reason)","domain":"googleapis.com","#
            + #""metadata":{"service":"generativelanguage.googleapis.com"}}"#
    }

    func notFound(_ request: MockRequest) -> MockReply {
        status(404, "NOT_FOUND", "Method not found: \(request.method.rawValue) \(request.path)")
    }

    func modelNotFound(_ model: String, method: String) -> MockReply {
        status(
            404, "NOT_FOUND",
            "models/\(model) is not found for API version v1beta, or is not supported for \(method). Call ListModels "
                + "to see the list of available models and their supported methods."
        )
    }

    /// The query parameters, percent-decoded.
    static func query(_ request: MockRequest) -> [String: String] {
        guard let mark = request.head.uri.firstIndex(of: "?") else { return [:] }
        var result: [String: String] = [:]
        for pair in request.head.uri[request.head.uri.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count > 1 ? String(parts[1]) : ""
            result[String(parts[0])] = value.removingPercentEncoding ?? value
        }
        return result
    }

    /// A path's model segment, percent-decoded, split into the model and its fault suffix.
    static func model(_ segment: Substring) -> (model: String, faults: String?) {
        let decoded = String(segment).removingPercentEncoding ?? String(segment)
        return OpenAIMockResponder.splitModel(decoded)
    }

    static func isKnown(_ model: String) -> Bool {
        model.hasPrefix("gemini-") || model.hasPrefix("gemma-") || model.hasPrefix("learnlm-")
    }

    func modelList() -> MockReply {
        pretty(#"{"models":["# + Self.models.map(Self.modelObject).joined(separator: ",") + "]}")
    }

    static func modelObject(_ id: String) -> String {
        #"{"name":"models/\#(id)","version":"001","displayName":"\#(id)","inputTokenLimit":1048576,"#
            + #""outputTokenLimit":65536,"supportedGenerationMethods":["generateContent","countTokens"]}"#
    }
}

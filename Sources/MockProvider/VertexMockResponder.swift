import Foundation
import NIOCore
import NIOHTTP1

/// The Vertex AI dialect (docs/wire/vertex.md): Gemini models on
/// `POST /{v1|v1beta1}/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent`
/// (`:streamGenerateContent?alt=sse`, `:countTokens`), Claude models on
/// `…/publishers/anthropic/models/{model}:rawPredict` (`:streamRawPredict`, `count-tokens:rawPredict`), express
/// mode on `/{version}/publishers/google/models/{model}:…` with an API key, Google's OAuth2 token endpoint
/// (`POST /token`) and the metadata server (`/computeMetadata/v1/…`).
///
/// Strict: the project (id or number) and location are checked, the publisher must match the model, a Claude
/// id must use `@` before its date, and every call needs a Bearer token this mock minted and that has not
/// expired (401 in Google's shape otherwise, array-wrapped on streaming methods).
struct VertexMockResponder: MockDialectResponder {
    let settings: VertexMockSettings
    let tokens: VertexMockTokens
    let ids = MockIDGenerator()
    /// The Gemini dialect's rendering and validation, reused with Vertex's flavour.
    let gemini: GeminiMockResponder

    init(settings: VertexMockSettings) throws(MockFaultSpecError) {
        self.settings = settings
        tokens = VertexMockTokens(faults: try MockFaultSpec(parsing: settings.tokenFaults))
        gemini = GeminiMockResponder(expectedKey: nil, lineEnding: "\r\n")
    }

    /// A parsed model path.
    struct Resource {
        var version: String
        /// nil in express mode.
        var project: String?
        var location: String?
        var publisher: String
        var model: String
        var faults: String?
        var method: String

        var isStream: Bool { method.hasPrefix("stream") }

        /// `projects/P/locations/L/publishers/X/models/M`, as Google's messages name it.
        var name: String {
            (project.map { "projects/\($0)/locations/\(location ?? "")/" } ?? "")
                + "publishers/\(publisher)/models/\(model)"
        }

        /// `google.cloud.aiplatform.v1.PredictionService.GenerateContent`.
        var rpcMethod: String {
            "google.cloud.aiplatform.\(version).PredictionService." + method.prefix(1).uppercased() + method.dropFirst()
        }
    }

    static func resource(_ path: Substring) -> Resource? {
        var parts = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard let version = parts.popFirst(), ["v1", "v1beta1"].contains(version) else { return nil }
        var project: String?
        var location: String?
        if parts.first == "projects" {
            guard parts.count == 8, parts[parts.startIndex + 2] == "locations" else { return nil }
            project = String(parts[parts.startIndex + 1])
            location = String(parts[parts.startIndex + 3])
            parts = parts.dropFirst(4)
        }
        guard parts.count == 4, parts.first == "publishers", parts[parts.startIndex + 2] == "models" else { return nil }
        let last = parts[parts.startIndex + 3]
        guard let colon = last.lastIndex(of: ":") else { return nil }
        let (model, faults) = GeminiMockResponder.model(last[..<colon])
        return Resource(
            version: String(version), project: project, location: location,
            publisher: String(parts[parts.startIndex + 1]), model: model, faults: faults,
            method: String(last[last.index(after: colon)...]))
    }

    func authenticate(_ request: MockRequest) -> MockReply? {
        if request.path == "/token" || request.path.hasPrefix("/computeMetadata/") { return nil }
        guard let resource = Self.resource(request.path) else { return nil }
        let headers = request.head.headers
        if resource.project == nil {
            let key = headers.first(name: "x-goog-api-key") ?? GeminiMockResponder.query(request)["key"] ?? ""
            if let expected = settings.expressAPIKey, key == expected { return nil }
            return status(
                resource, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                reason: "API_KEY_INVALID")
        }
        let authorization = headers.first(name: "authorization") ?? ""
        guard authorization.hasPrefix("Bearer "), authorization.count > 7 else {
            if headers.contains(name: "x-goog-api-key") {
                return status(
                    resource, 401, "UNAUTHENTICATED",
                    "API keys are not supported by this API. Expected OAuth2 access token or other authentication "
                        + "credentials that assert a principal. See https://cloud.google.com/docs/authentication",
                    reason: "CREDENTIALS_MISSING")
            }
            return status(
                resource, 401, "UNAUTHENTICATED",
                "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie "
                    + "or other valid authentication credential. See "
                    + "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                reason: "CREDENTIALS_MISSING")
        }
        switch tokens.check(String(authorization.dropFirst(7))) {
        case .valid:
            return nil
        case .expired:
            return status(resource, 401, "UNAUTHENTICATED", Self.invalidCredentials, reason: "ACCESS_TOKEN_EXPIRED")
        case .unknown:
            return status(
                resource, 401, "UNAUTHENTICATED", Self.invalidCredentials, reason: "ACCESS_TOKEN_TYPE_UNSUPPORTED")
        }
    }

    static let invalidCredentials =
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other "
        + "valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."

    func respond(to request: MockRequest) -> MockResponderResult {
        if request.path == "/token" { return .reply(tokenGrant(request)) }
        if request.path.hasPrefix("/computeMetadata/") { return .reply(metadata(request)) }
        guard request.method == .POST, let resource = Self.resource(request.path) else {
            return .reply(
                gemini.status(404, "NOT_FOUND", "Method not found: \(request.method.rawValue) \(request.path)"))
        }
        if let project = resource.project, project != settings.project, project != settings.projectNumber {
            return .reply(
                status(
                    resource, 403, "PERMISSION_DENIED",
                    "Permission 'aiplatform.endpoints.predict' denied on resource "
                        + "'//aiplatform.googleapis.com/\(resource.name)' (or it may not exist).",
                    reason: "IAM_PERMISSION_DENIED"))
        }
        if let location = resource.location, !settings.locations.contains(location) {
            return .reply(modelNotFound(resource))
        }
        switch resource.publisher {
        case "google" where resource.model.hasPrefix("gemini-"):
            return generate(request, resource)
        case "anthropic" where resource.project != nil && Self.isVertexClaudeID(resource.model):
            return rawPredict(request, resource)
        default:
            return .reply(modelNotFound(resource))
        }
    }

    /// `claude-…` with its date after `@` (or no date at all); `count-tokens` for token counting.
    static func isVertexClaudeID(_ model: String) -> Bool {
        if model == "count-tokens" { return true }
        guard model.hasPrefix("claude-") else { return false }
        if model.contains("@") { return true }
        let last = model.split(separator: "-").last ?? ""
        return !(last.count == 8 && last.allSatisfy(\.isNumber))
    }

    func modelNotFound(_ resource: Resource) -> MockReply {
        status(
            resource, 404, "NOT_FOUND",
            "Publisher Model `\(resource.name)` was not found or your project does not have access to it. Please "
                + "ensure you are using a valid model version. For more information, see: "
                + "https://cloud.google.com/vertex-ai/generative-ai/docs/learn/model-versions")
    }

    /// A `google.rpc.Status` error, pretty-printed, wrapped in a one-element array on streaming methods.
    func status(_ resource: Resource, _ code: Int, _ status: String, _ message: String, reason: String? = nil)
        -> MockReply
    {
        let details = reason.map {
            [
                #"{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"\#($0)","domain":"googleapis.com","#
                    + #""metadata":{"service":"aiplatform.googleapis.com","method":"\#(resource.rpcMethod)"}}"#
            ]
        }
        let body = GeminiMockResponder.statusBody(code, status, message, details: details ?? [])
        var reply = gemini.pretty(resource.isStream ? "[" + body + "]" : body, status: code)
        reply.headers.replaceOrAdd(name: "content-type", value: "application/json; charset=UTF-8")
        return reply
    }

    func injectedError(status: Int, retryAfterSeconds: Int?, model: String?) -> MockReply {
        if status == 529 {
            return claudeError(status: 529, type: "overloaded_error", message: "Overloaded")
        }
        let (rpcStatus, message): (String, String) =
            switch status {
            case 400: ("INVALID_ARGUMENT", "Request contains an invalid argument.")
            case 401: ("UNAUTHENTICATED", Self.invalidCredentials)
            case 403: ("PERMISSION_DENIED", "Permission denied on resource (injected by llmgw-mock).")
            case 404: ("NOT_FOUND", "Publisher Model `\(model ?? "")` was not found.")
            case 429:
                (
                    "RESOURCE_EXHAUSTED",
                    "Resource exhausted. Please try again later. Please refer to "
                        + "https://cloud.google.com/vertex-ai/generative-ai/docs/error-code-429 for more details."
                )
            case 503: ("UNAVAILABLE", "The service is currently unavailable.")
            case 504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete.")
            default: ("INTERNAL", "Internal error encountered.")
            }
        var reply = gemini.status(status, rpcStatus, message)
        if let retryAfterSeconds { reply.headers.add(name: "retry-after", value: String(retryAfterSeconds)) }
        return reply
    }

    func invalidRequest(message: String) -> MockReply {
        gemini.status(400, "INVALID_ARGUMENT", message)
    }

    func streamErrorEvent() -> String {
        gemini.streamErrorEvent()
    }

    func streamErrorEvent(in reply: MockReply) -> String {
        if case .stream(let events) = reply.body, events.first?.hasPrefix("event:") == true {
            return "event: error\ndata: "
                + #"{"type":"error","error":{"details":null,"type":"overloaded_error","message":"Overloaded"}}"#
                + "\n\n"
        }
        return gemini.streamErrorEvent()
    }

    func finishHeaders(_ headers: inout HTTPHeaders, processingMilliseconds: Int) {
        headers.add(name: "server-timing", value: "gfet4t7; dur=\(processingMilliseconds)")
    }

    /// An Anthropic-shape error, as Claude's own validation answers on Vertex.
    func claudeError(status: Int, type: String, message: String) -> MockReply {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        return MockReply(
            status: HTTPResponseStatus(statusCode: status), headers: headers,
            body: .full(AnthropicMockResponder.errorBody(type: type, message: message, requestID: nil)))
    }

    /// An RFC 3339 time with microseconds, as `createTime` carries it.
    static func createTime() -> String {
        let now = Date().timeIntervalSince1970
        var seconds = time_t(now)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int = 2) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let micros = Int32((now - Double(seconds)) * 1_000_000)
        return "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(micros, 6))Z"
    }
}

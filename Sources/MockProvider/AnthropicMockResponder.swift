import Foundation
import NIOCore
import NIOHTTP1

/// The Anthropic dialect: `POST /v1/messages`, `POST /v1/messages/count_tokens`, `GET /v1/models`, as in
/// `docs/wire/anthropic.md`. Strict: it rejects what the real API rejects, in its error shape, so a translator
/// bug fails a test instead of passing silently.
struct AnthropicMockResponder: MockDialectResponder {
    /// The only key accepted when set.
    let expectedKey: String?
    let ids = MockIDGenerator()

    static let organizationID = "3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
    static let models = [
        ("claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
        ("claude-opus-4-1", "Claude Opus 4.1", "2025-08-05T00:00:00Z"),
        ("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-15T00:00:00Z"),
        ("claude-3-5-haiku-latest", "Claude Haiku 3.5", "2024-10-22T00:00:00Z"),
    ]

    func authenticate(_ request: MockRequest) -> MockReply? {
        let key = request.head.headers.first(name: "x-api-key") ?? ""
        if key.isEmpty {
            return error(status: .unauthorized, type: "authentication_error", message: "x-api-key header is required")
        }
        if let expectedKey, key != expectedKey {
            return error(status: .unauthorized, type: "authentication_error", message: "invalid x-api-key")
        }
        if (request.head.headers.first(name: "anthropic-version") ?? "").isEmpty {
            return error(
                status: .badRequest, type: "invalid_request_error", message: "anthropic-version: header is required"
            )
        }
        return nil
    }

    func respond(to request: MockRequest) -> MockResponderResult {
        switch (request.method, request.path) {
        case (.POST, "/v1/messages"): return messages(request)
        case (.POST, "/v1/messages/count_tokens"): return countTokens(request)
        case (.GET, "/v1/models"): return .answer(modelList(), model: nil, faultSuffix: nil)
        default:
            return .reply(
                error(
                    status: .notFound, type: "not_found_error",
                    message: "Not Found: \(request.method.rawValue) \(request.path)"
                )
            )
        }
    }

    func finishHeaders(_ headers: inout HTTPHeaders, processingMilliseconds: Int) {}

    func headers(contentType: String, requestID: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(16)
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "request-id", value: requestID)
        headers.add(name: "anthropic-organization-id", value: Self.organizationID)
        let reset = Self.resetTimestamp()
        for (kind, limit, remaining) in [
            ("requests", "4000", "3999"), ("tokens", "2000000", "1999000"),
            ("input-tokens", "1600000", "1599000"), ("output-tokens", "400000", "400000"),
        ] {
            headers.add(name: "anthropic-ratelimit-\(kind)-limit", value: limit)
            headers.add(name: "anthropic-ratelimit-\(kind)-remaining", value: remaining)
            headers.add(name: "anthropic-ratelimit-\(kind)-reset", value: reset)
        }
        return headers
    }

    func newRequestID() -> String {
        ids.make(prefix: "req_011C", length: 20, alphabet: .alphanumeric)
    }

    func json(_ body: String, status: HTTPResponseStatus = .ok, requestID: String? = nil) -> MockReply {
        MockReply(
            status: status, headers: headers(contentType: "application/json", requestID: requestID ?? newRequestID()),
            body: .full(body)
        )
    }

    /// `{"type":"error","error":{"type","message"},"request_id"}` with the same id in the `request-id` header.
    func error(status: HTTPResponseStatus, type: String, message: String) -> MockReply {
        let requestID = newRequestID()
        return json(
            Self.errorBody(type: type, message: message, requestID: requestID), status: status,
            requestID: requestID)
    }

    static func errorBody(type: String, message: String, requestID: String?) -> String {
        var body = #"{"type":"error","error":{"type":"# + MockJSON.quoted(type) + #","message":"#
        MockJSON.appendQuoted(message, to: &body)
        body += "}"
        if let requestID { body += #","request_id":"# + MockJSON.quoted(requestID) }
        return body + "}"
    }

    func invalidRequest(message: String) -> MockReply {
        error(status: .badRequest, type: "invalid_request_error", message: message)
    }

    func injectedError(status: Int, retryAfterSeconds: Int?, model: String?) -> MockReply {
        let (type, message): (String, String)
        switch status {
        case 400: (type, message) = ("invalid_request_error", "Invalid request (injected by llmgw-mock).")
        case 401: (type, message) = ("authentication_error", "invalid x-api-key")
        case 402: (type, message) = ("billing_error", "Your credit balance is too low to access the Anthropic API.")
        case 403: (type, message) = ("permission_error", "Your API key does not have permission to use the model.")
        case 404: (type, message) = ("not_found_error", "model: \(model ?? "claude-sonnet-4-5")")
        case 409: (type, message) = ("conflict_error", "Conflict (injected by llmgw-mock).")
        case 413: (type, message) = ("request_too_large", "Request exceeds the maximum allowed number of bytes.")
        case 429:
            (type, message) = (
                "rate_limit_error",
                "This request would exceed the rate limit for your organization of 40,000 input tokens per minute."
            )
        case 504: (type, message) = ("timeout_error", "Request timed out.")
        case 529: (type, message) = ("overloaded_error", "Overloaded")
        case 500...599: (type, message) = ("api_error", "Internal server error")
        default: (type, message) = ("invalid_request_error", "Request failed (injected by llmgw-mock).")
        }
        var reply = error(status: HTTPResponseStatus(statusCode: status), type: type, message: message)
        if status == 429 {
            reply.headers.replaceOrAdd(name: "anthropic-ratelimit-input-tokens-remaining", value: "0")
            reply.headers.add(name: "retry-after", value: String(retryAfterSeconds ?? 1))
        } else if status >= 500, let retryAfterSeconds {
            reply.headers.add(name: "retry-after", value: String(retryAfterSeconds))
        }
        return reply
    }

    func streamErrorEvent() -> String {
        "event: error\ndata: " + Self.errorBody(type: "overloaded_error", message: "Overloaded", requestID: nil)
            + "\n\n"
    }

    func modelList() -> MockReply {
        let entries = Self.models.map { id, name, created in
            #"{"type":"model","id":"\#(id)","display_name":"\#(name)","created_at":"\#(created)"}"#
        }
        let first = Self.models.first?.0 ?? ""
        let last = Self.models.last?.0 ?? ""
        return json(
            #"{"data":["# + entries.joined(separator: ",")
                + #"],"has_more":false,"first_id":"\#(first)","last_id":"\#(last)"}"#
        )
    }

    /// An RFC 3339 timestamp a few seconds ahead, as `anthropic-ratelimit-*-reset` carries.
    static func resetTimestamp() -> String {
        var seconds = time_t(Date().timeIntervalSince1970) + 6
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))Z"
    }
}

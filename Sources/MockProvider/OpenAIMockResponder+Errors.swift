import NIOHTTP1

/// OpenAI's error body, `{"error":{"message","type","param","code"}}`, for every status the mock can send.
extension OpenAIMockResponder {
    func error(
        status: HTTPResponseStatus,
        message: String,
        type: String = "invalid_request_error",
        param: String? = nil,
        code: String? = nil
    ) -> MockReply {
        json(Self.errorBody(message: message, type: type, param: param, code: code), status: status)
    }

    static func errorBody(message: String, type: String, param: String?, code: String?) -> String {
        var body = #"{"error":{"message":"#
        MockJSON.appendQuoted(message, to: &body)
        body += #","type":"# + MockJSON.quoted(type)
        body += #","param":"# + MockJSON.quotedOrNull(param)
        body += #","code":"# + MockJSON.quotedOrNull(code) + "}}"
        return body
    }

    func invalidRequest(message: String) -> MockReply {
        error(status: .badRequest, message: message)
    }

    func injectedError(status: Int, retryAfterSeconds: Int?, model: String?) -> MockReply {
        let model = model ?? "gpt-4o-mini"
        let (message, type, code): (String, String, String?)
        switch status {
        case 400: (message, type, code) = ("Invalid request (injected by llmgw-mock).", "invalid_request_error", nil)
        case 401:
            (message, type, code) = (
                "Incorrect API key provided: sk-mo***********mock. You can find your API key at "
                    + "https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"
            )
        case 403:
            (message, type, code) = (
                "Country, region, or territory not supported", "request_forbidden",
                "unsupported_country_region_territory"
            )
        case 404:
            (message, type, code) = (
                "The model `\(model)` does not exist or you do not have access to it.", "invalid_request_error",
                "model_not_found"
            )
        case 408: (message, type, code) = ("Request timed out.", "timeout", nil)
        case 409: (message, type, code) = ("The request conflicted with another request.", "conflict", nil)
        case 413: (message, type, code) = ("Request entity too large.", "invalid_request_error", nil)
        case 429:
            (message, type, code) = (
                "Rate limit reached for \(model) in organization \(Self.organization) on requests per min (RPM): "
                    + "Limit 10000, Used 10000, Requested 1. Please try again in \(retryAfterSeconds ?? 1)s. "
                    + "Visit https://platform.openai.com/account/rate-limits to learn more.", "requests",
                "rate_limit_exceeded"
            )
        case 500:
            (message, type, code) = (
                "The server had an error while processing your request. Sorry about that!", "server_error", nil
            )
        case 503, 529:
            (message, type, code) = ("The engine is currently overloaded, please try again later", "server_error", nil)
        case 500...599: (message, type, code) = ("Upstream error (injected by llmgw-mock).", "server_error", nil)
        default:
            (message, type, code) = ("Request failed (injected by llmgw-mock).", "invalid_request_error", nil)
        }
        var reply = error(status: HTTPResponseStatus(statusCode: status), message: message, type: type, code: code)
        if status == 429 {
            reply.headers.replaceOrAdd(name: "x-ratelimit-remaining-requests", value: "0")
            reply.headers.add(name: "retry-after", value: String(retryAfterSeconds ?? 1))
        } else if status == 503 || status == 529, let retryAfterSeconds {
            reply.headers.add(name: "retry-after", value: String(retryAfterSeconds))
        }
        return reply
    }

    func streamErrorEvent() -> String {
        let body = Self.errorBody(
            message: "The server had an error while processing your request. Sorry about that!",
            type: "server_error", param: nil, code: nil
        )
        return "data: " + body + "\n\n"
    }
}

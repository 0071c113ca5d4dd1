import Foundation
import NIOCore
import NIOHTTP1

/// The Azure OpenAI dialect: `POST /openai/deployments/{deployment}/chat/completions?api-version=…` and the v1
/// path `POST /openai/v1/chat/completions`, with `api-key` auth, content-filter annotations and both Azure error
/// shapes, as in `docs/wire/azure.md`. The answers are the OpenAI mock's (`OpenAIMockChatAnswer`).
struct AzureMockResponder: MockDialectResponder {
    /// The only key accepted when set.
    let expectedKey: String?
    let ids = MockIDGenerator()
    /// The Responses API is OpenAI's on Azure (body, events, errors): rendered by the OpenAI mock,
    /// sent with Azure's headers.
    let responsesRenderer = OpenAIMockResponder(expectedKey: nil)

    static let systemFingerprint = "fp_ee1d74bde0"

    func authenticate(_ request: MockRequest) -> MockReply? {
        let key = request.head.headers.first(name: "api-key") ?? ""
        if key.isEmpty || (expectedKey != nil && key != expectedKey) {
            return gatewayError(
                status: .unauthorized, code: "401",
                message: "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide "
                    + "a valid key for an active subscription and use a correct regional API endpoint for your "
                    + "resource."
            )
        }
        return nil
    }

    func respond(to request: MockRequest) -> MockResponderResult {
        let path = request.path
        guard request.method == .POST else { return .reply(resourceNotFound()) }
        if path == "/openai/v1/chat/completions" { return chat(request, deployment: nil) }
        if path == "/openai/v1/responses"
            || (path == "/openai/responses" && GeminiMockResponder.query(request)["api-version"]?.isEmpty == false)
        {
            return responses(request)
        }
        let prefix = "/openai/deployments/"
        let suffix = "/chat/completions"
        guard path.hasPrefix(prefix), path.hasSuffix(suffix), path.count > prefix.count + suffix.count else {
            return .reply(resourceNotFound())
        }
        let segment = path.dropFirst(prefix.count).dropLast(suffix.count)
        guard !segment.contains("/") else { return .reply(resourceNotFound()) }
        guard let version = GeminiMockResponder.query(request)["api-version"], !version.isEmpty else {
            return .reply(resourceNotFound())
        }
        return chat(request, deployment: String(segment).removingPercentEncoding ?? String(segment))
    }

    /// `POST /openai/responses?api-version=…` or `/openai/v1/responses` (the deployment is the body's
    /// `model`).
    private func responses(_ request: MockRequest) -> MockResponderResult {
        func azure(_ reply: MockReply) -> MockReply {
            var reply = reply
            reply.headers = headers(contentType: reply.headers.first(name: "content-type") ?? "application/json")
            return reply
        }
        switch responsesRenderer.responses(request) {
        case .reply(let reply): return .reply(azure(reply))
        case .answer(let reply, let model, let faults): return .answer(azure(reply), model: model, faultSuffix: faults)
        }
    }

    func finishHeaders(_ headers: inout HTTPHeaders, processingMilliseconds: Int) {}

    func headers(contentType: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.reserveCapacity(10)
        let requestID = ids.make(prefix: "", length: 32, alphabet: .hex)
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "apim-request-id", value: requestID)
        headers.add(name: "x-request-id", value: requestID)
        headers.add(name: "x-ms-region", value: "East US")
        headers.add(name: "x-ratelimit-limit-requests", value: "1000")
        headers.add(name: "x-ratelimit-limit-tokens", value: "1000000")
        headers.add(name: "x-ratelimit-remaining-requests", value: "999")
        headers.add(name: "x-ratelimit-remaining-tokens", value: "999986")
        return headers
    }

    func json(_ body: String, status: HTTPResponseStatus = .ok) -> MockReply {
        MockReply(status: status, headers: headers(contentType: "application/json"), body: .full(body))
    }

    /// The API-management shape: `{"error":{"code":"<string>","message":"…"}}`.
    func gatewayError(status: HTTPResponseStatus, code: String, message: String) -> MockReply {
        json(
            #"{"error":{"code":"# + MockJSON.quoted(code) + #","message":"# + MockJSON.quoted(message) + "}}",
            status: status)
    }

    /// The model-service shape, OpenAI's `{"error":{"message","type","param","code"}}`.
    func openAIError(
        status: HTTPResponseStatus, message: String, type: String = "invalid_request_error", param: String? = nil,
        code: String? = nil
    ) -> MockReply {
        json(OpenAIMockResponder.errorBody(message: message, type: type, param: param, code: code), status: status)
    }

    func resourceNotFound() -> MockReply {
        gatewayError(status: .notFound, code: "404", message: "Resource not found")
    }

    func invalidRequest(message: String) -> MockReply {
        openAIError(status: .badRequest, message: message)
    }

    func injectedError(status: Int, retryAfterSeconds: Int?, model: String?) -> MockReply {
        var reply: MockReply
        switch status {
        case 401:
            return authenticate(
                MockRequest(
                    head: .init(version: .http1_1, method: .GET, uri: "/"),
                    body: ByteBuffer())) ?? resourceNotFound()
        case 404:
            reply = gatewayError(
                status: .notFound, code: "DeploymentNotFound",
                message: "The API deployment for this resource does not exist. If you created the deployment within "
                    + "the last 5 minutes, please wait a moment and try again."
            )
        case 429:
            let wait = retryAfterSeconds ?? 1
            reply = gatewayError(
                status: .tooManyRequests, code: "429",
                message: "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 "
                    + "have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after "
                    + "\(wait) seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further "
                    + "increase the default rate limit."
            )
            reply.headers.replaceOrAdd(name: "x-ratelimit-remaining-requests", value: "0")
            reply.headers.add(name: "retry-after", value: String(wait))
            reply.headers.add(name: "retry-after-ms", value: String(wait * 1000))
            return reply
        case 503:
            reply = gatewayError(
                status: .serviceUnavailable, code: "ServiceUnavailable",
                message: "The service is temporarily unable to process your request. Please try again later.")
        case 500...599:
            reply = gatewayError(
                status: HTTPResponseStatus(statusCode: status), code: "InternalServerError",
                message: "The server had an error while processing your request. Sorry about that!")
        default:
            reply = openAIError(
                status: HTTPResponseStatus(statusCode: status), message: "Request failed (injected by llmgw-mock).")
        }
        if status >= 500, let retryAfterSeconds {
            reply.headers.add(name: "retry-after", value: String(retryAfterSeconds))
        }
        return reply
    }

    func streamErrorEvent() -> String {
        let body = OpenAIMockResponder.errorBody(
            message: "The server had an error while processing your request. Sorry about that!",
            type: "server_error", param: nil, code: nil
        )
        return "data: " + body + "\n\n"
    }
}

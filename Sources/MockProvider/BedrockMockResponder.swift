import Foundation
import NIOHTTP1

/// AWS Bedrock Runtime (docs/wire/bedrock.md): `POST /model/{modelId}/converse` (JSON) and
/// `/converse-stream` (binary event stream with CRCs). Authenticated by a SigV4 signature verified
/// against the configured credentials (`BedrockMockSigV4`), or a Bedrock API key as Bearer when
/// `expectedKey` is set (any Bearer key otherwise). Errors are `{"message"}` with the name in
/// `x-amzn-errortype`; every answer has an `x-amzn-RequestId`.
///
/// Answers: tool results in the last user turn → `Tool result received: …`; a tool given (and not
/// answered yet) → one `toolUse`; `UNSAFE` in the last user text → `guardrail_intervened`;
/// otherwise `Hello! You said: …`, cut at `maxTokens` (`max_tokens`). Thinking enabled adds a
/// `reasoningContent` block first.
struct BedrockMockResponder: MockDialectResponder {
    let expectedKey: String?
    let aws: MockAWSCredentials?
    let ids = MockIDGenerator()

    func authenticate(_ request: MockRequest) -> MockReply? {
        let authorization = request.head.headers.first(name: "authorization") ?? ""
        if authorization.hasPrefix("Bearer ") {
            let key = authorization.dropFirst("Bearer ".count)
            if key.isEmpty || (expectedKey != nil && key != expectedKey![...]) {
                return error(
                    403, "UnrecognizedClientException", "Authentication failed: Please make sure your API Key is valid."
                )
            }
            return nil
        }
        guard let aws else {
            return authorization.isEmpty
                ? error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
                : error(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        }
        let verifier = BedrockMockSigV4(credentials: aws)
        if let rejection = verifier.verify(
            method: request.method.rawValue, uri: request.head.uri, headers: request.head.headers,
            body: request.bodyBytes)
        {
            let (type, message) = rejection.error
            return error(403, type, message)
        }
        return nil
    }

    func respond(to request: MockRequest) -> MockResponderResult {
        let segments = request.path.split(separator: "/", omittingEmptySubsequences: false)
        guard request.method == .POST, segments.count == 4, segments[0].isEmpty, segments[1] == "model",
            segments[3] == "converse" || segments[3] == "converse-stream"
        else {
            return .reply(error(404, "UnknownOperationException", "The requested operation is not supported."))
        }
        let decoded = String(segments[2]).removingPercentEncoding ?? String(segments[2])
        let (model, faults) = OpenAIMockResponder.splitModel(decoded)
        guard Self.isModelID(model) else {
            return .reply(error(400, "ValidationException", "The provided model identifier is invalid."))
        }
        let parsed: BedrockMockRequest
        do {
            parsed = try BedrockMockRequest(body: request.bodyBytes)
        } catch {
            return .reply(self.error(400, "ValidationException", error.message))
        }
        let answer = BedrockMockAnswer(
            parsed, toolUseID: ids.make(prefix: "tooluse_", length: 22, alphabet: .alphanumeric))
        if segments[3] == "converse-stream" {
            return .answer(
                MockReply(
                    status: .ok, headers: headers(contentType: "application/vnd.amazon.eventstream"),
                    body: .binaryStream(answer.frames())),
                model: model, faultSuffix: faults)
        }
        return .answer(
            MockReply(status: .ok, headers: headers(contentType: "application/json"), body: .full(answer.json())),
            model: model, faultSuffix: faults)
    }

    /// A base model id (`anthropic.claude-3-haiku-20240307-v1:0`), an inference profile
    /// (`us.anthropic.…`) or an ARN.
    static func isModelID(_ id: String) -> Bool {
        if id.hasPrefix("arn:aws:bedrock:") { return id.split(separator: ":").count >= 6 }
        return id.contains(".") && !id.contains("/") && !id.contains(" ")
    }

    func headers(contentType: String) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "x-amzn-RequestId", value: UUID().uuidString.lowercased())
        return headers
    }

    /// `{"message"}` with the name in `x-amzn-errortype` (suffixed as AWS does).
    func error(_ status: Int, _ type: String, _ message: String) -> MockReply {
        var headers = headers(contentType: "application/json")
        headers.add(name: "x-amzn-errortype", value: type + ":http://internal.amazon.com/coral/com.amazon.bedrock/")
        return MockReply(
            status: HTTPResponseStatus(statusCode: status), headers: headers,
            body: .full(#"{"message":"# + MockJSON.quoted(message) + "}"))
    }

    func injectedError(status: Int, retryAfterSeconds: Int?, model: String?) -> MockReply {
        switch status {
        case 400: error(400, "ValidationException", "Input is too long for requested model.")
        case 403: error(403, "AccessDeniedException", "You don't have access to the model with the specified model ID.")
        case 404: error(404, "ResourceNotFoundException", "Model not found: \(model ?? "")")
        case 408: error(408, "ModelTimeoutException", "Model has timed out in processing the request.")
        case 424: error(424, "ModelErrorException", "The model returned an error (injected by llmgw-mock).")
        case 429: error(429, "ThrottlingException", "Too many requests, please wait before trying again.")
        case 500: error(500, "InternalServerException", "The server encountered an internal error.")
        case 503: error(503, "ServiceUnavailableException", "The service is unavailable. Please try again later.")
        default: error(status, "InternalServerException", "Request failed (injected by llmgw-mock).")
        }
    }

    func invalidRequest(message: String) -> MockReply {
        error(400, "ValidationException", message)
    }

    func streamErrorEvent() -> String {
        String(
            decoding: streamErrorBytes(in: MockReply(status: .ok, headers: [:], body: .binaryStream([]))), as: UTF8.self
        )
    }

    /// A `throttlingException` frame inside the 200 stream.
    func streamErrorBytes(in reply: MockReply) -> [UInt8] {
        BedrockMockEventStream.exception("throttlingException", message: "Rate exceeded")
    }

    func finishHeaders(_ headers: inout HTTPHeaders, processingMilliseconds: Int) {}
}

/// The deterministic answer to one Converse request, whole or as event-stream frames that agree.
struct BedrockMockAnswer {
    enum Output {
        case text([String])
        case toolUse(id: String, name: String, input: String)
    }

    var output: Output
    var reasoning: String?
    var stopReason = "end_turn"
    var inputTokens: Int
    var outputTokens: Int

    init(_ request: BedrockMockRequest, toolUseID: String) {
        inputTokens = request.promptTokens
        if request.thinking { reasoning = "Thinking about: " + request.lastUserText }
        if let function = request.function {
            let input = OpenAIMockToolArguments.render(schema: function.schema)
            output = .toolUse(id: toolUseID, name: function.name, input: input)
            stopReason = "tool_use"
            outputTokens = MockTokens.count(function.name) + MockTokens.count(input)
            return
        }
        let text: String
        if let result = request.toolResult {
            text = "Tool result received: " + result
        } else if request.lastUserText.contains("UNSAFE") {
            text = "Sorry, the model cannot answer that."
            stopReason = "guardrail_intervened"
        } else {
            text = request.lastUserText.isEmpty ? "Hello!" : "Hello! You said: " + request.lastUserText
        }
        var pieces = MockTokens.pieces(text)
        if let max = request.maxTokens, max < pieces.count {
            pieces.removeLast(pieces.count - max)
            stopReason = "max_tokens"
        }
        output = .text(pieces)
        outputTokens = pieces.count + (reasoning.map(MockTokens.count) ?? 0)
    }

    private var usage: String {
        #"{"inputTokens":\#(inputTokens),"outputTokens":\#(outputTokens),"totalTokens":\#(inputTokens + outputTokens)}"#
    }

    func json() -> String {
        var blocks: [String] = []
        if let reasoning {
            blocks.append(
                #"{"reasoningContent":{"reasoningText":{"text":"# + MockJSON.quoted(reasoning)
                    + #","signature":"bW9jay1zaWduYXR1cmU="}}}"#)
        }
        switch output {
        case .text(let pieces): blocks.append(#"{"text":"# + MockJSON.quoted(pieces.joined()) + "}")
        case .toolUse(let id, let name, let input):
            blocks.append(
                #"{"toolUse":{"toolUseId":"# + MockJSON.quoted(id) + #","name":"# + MockJSON.quoted(name)
                    + #","input":"# + input + "}}")
        }
        return #"{"output":{"message":{"role":"assistant","content":["# + blocks.joined(separator: ",")
            + #"]}},"stopReason":"\#(stopReason)","usage":\#(usage),"metrics":{"latencyMs":42}}"#
    }

    func frames() -> [[UInt8]] {
        var frames = [BedrockMockEventStream.event("messageStart", #"{"role":"assistant"}"#, padding: 40)]
        var index = 0
        func delta(_ json: String) -> [UInt8] {
            BedrockMockEventStream.event(
                "contentBlockDelta", #"{"contentBlockIndex":\#(index),"delta":\#(json)}"#, padding: json.count)
        }
        func stop() -> [UInt8] {
            BedrockMockEventStream.event("contentBlockStop", #"{"contentBlockIndex":\#(index)}"#, padding: 17)
        }
        if let reasoning {
            frames.append(delta(#"{"reasoningContent":{"text":"# + MockJSON.quoted(reasoning) + "}}"))
            frames.append(delta(#"{"reasoningContent":{"signature":"bW9jay1zaWduYXR1cmU="}}"#))
            frames.append(stop())
            index += 1
        }
        switch output {
        case .text(let pieces):
            // Text blocks get no contentBlockStart.
            for piece in pieces { frames.append(delta(#"{"text":"# + MockJSON.quoted(piece) + "}")) }
        case .toolUse(let id, let name, let input):
            frames.append(
                BedrockMockEventStream.event(
                    "contentBlockStart",
                    #"{"contentBlockIndex":\#(index),"start":{"toolUse":{"toolUseId":"# + MockJSON.quoted(id)
                        + #","name":"# + MockJSON.quoted(name) + "}}}", padding: 8))
            let characters = Array(input)
            let half = characters.count / 2
            for piece in [String(characters[..<half]), String(characters[half...])] where !piece.isEmpty {
                frames.append(delta(#"{"toolUse":{"input":"# + MockJSON.quoted(piece) + "}}"))
            }
        }
        frames.append(stop())
        frames.append(BedrockMockEventStream.event("messageStop", #"{"stopReason":"\#(stopReason)"}"#, padding: 15))
        frames.append(
            BedrockMockEventStream.event("metadata", #"{"usage":\#(usage),"metrics":{"latencyMs":42}}"#, padding: 21))
        return frames
    }
}

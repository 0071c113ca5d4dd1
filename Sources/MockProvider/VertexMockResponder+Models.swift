import Foundation
import NIOHTTP1

/// Gemini (`generateContent`, `streamGenerateContent`, `countTokens`) and Claude (`rawPredict`,
/// `streamRawPredict`, `count-tokens:rawPredict`) on Vertex AI.
extension VertexMockResponder {
    func generate(_ request: MockRequest, _ resource: Resource) -> MockResponderResult {
        guard ["generateContent", "streamGenerateContent", "countTokens"].contains(resource.method) else {
            return .reply(modelNotFound(resource))
        }
        guard
            let body = (try? JSONSerialization.jsonObject(with: Data(request.body.readableBytesView))) as? [String: Any]
        else {
            return .reply(
                status(resource, 400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token."))
        }
        let parsed: GeminiMockRequest
        do {
            parsed = try GeminiMockRequest(body: body, model: resource.model, vertex: true)
        } catch {
            return .reply(status(resource, 400, "INVALID_ARGUMENT", error.message))
        }
        if resource.method == "countTokens" {
            return .answer(
                gemini.pretty(#"{"totalTokens":\#(parsed.promptTokens),"totalBillableCharacters":0}"#),
                model: resource.model, faultSuffix: resource.faults)
        }
        var answer = GeminiMockAnswer(
            parsed, model: resource.model, responseID: ids.make(prefix: "", length: 23, alphabet: .alphanumeric),
            signature: ids.make(prefix: "CiQBVKhc", length: 32, alphabet: .alphanumeric))
        answer.vertexCreateTime = Self.createTime()
        let reply: MockReply
        if resource.method == "generateContent" {
            reply = gemini.pretty(answer.object())
        } else if GeminiMockResponder.query(request)["alt"] == "sse" {
            // `data: {"key": value,…}` (a space after `:`, none after `,`), each event ending in CRLF CRLF.
            reply = MockReply(
                status: .ok, headers: gemini.headers(contentType: "text/event-stream"),
                body: .stream(answer.chunks().map { "data: " + Self.spacedAfterColons($0) + "\r\n\r\n" }))
        } else {
            let chunks = answer.chunks().map { GeminiMockJSON.pretty($0).dropLast() }
            var events = chunks.enumerated().map { ($0.offset == 0 ? "[" : ",\r\n") + $0.element }
            events.append("]")
            reply = MockReply(
                status: .ok, headers: gemini.headers(contentType: "application/json; charset=UTF-8"),
                body: .stream(events))
        }
        return .answer(reply, model: resource.model, faultSuffix: resource.faults)
    }

    func rawPredict(_ request: MockRequest, _ resource: Resource) -> MockResponderResult {
        guard ["rawPredict", "streamRawPredict"].contains(resource.method) else {
            return .reply(modelNotFound(resource))
        }
        let invalid = { (message: String) in
            MockResponderResult.reply(claudeError(status: 400, type: "invalid_request_error", message: message))
        }
        guard
            var body = (try? JSONSerialization.jsonObject(with: Data(request.body.readableBytesView))) as? [String: Any]
        else { return invalid("There was an error parsing the body of your request as JSON.") }
        guard let rawVersion = body.removeValue(forKey: "anthropic_version") else {
            return invalid("anthropic_version: Field required")
        }
        guard let version = rawVersion as? String, Self.isAnthropicVersion(version) else {
            return invalid("anthropic_version: Input should be 'vertex-2023-10-16' or a date")
        }
        body.removeValue(forKey: "anthropic_beta")
        let counting = resource.model == "count-tokens"
        if counting {
            guard resource.method == "rawPredict" else { return .reply(modelNotFound(resource)) }
            guard let model = body["model"] as? String, Self.isVertexClaudeID(model), model != "count-tokens" else {
                return invalid("model: Field required")
            }
            guard let parsed = try? AnthropicMockRequest(body: body, requireMaxTokens: false) else {
                return invalid("messages: Field required")
            }
            return .answer(
                claudeJSON(#"{"input_tokens":\#(parsed.inputTokens)}"#), model: model, faultSuffix: nil)
        }
        // The model is in the URL; a body that names one too is refused, as Claude refuses unknown fields.
        if body["model"] != nil { return invalid("model: Extra inputs are not permitted") }
        let stream = body["stream"] as? Bool ?? false
        if resource.method == "streamRawPredict", !stream {
            return invalid("stream: streamRawPredict needs \"stream\": true")
        }
        if resource.method == "rawPredict", stream {
            return invalid("stream: rawPredict does not stream; use streamRawPredict")
        }
        body["model"] = resource.model
        let parsed: AnthropicMockRequest
        do {
            parsed = try AnthropicMockRequest(body: body, requireMaxTokens: true)
        } catch {
            return invalid(error.message)
        }
        var answer = AnthropicMockAnswer(
            parsed, messageID: ids.make(prefix: "msg_vrtx_01", length: 22, alphabet: .alphanumeric),
            toolUseID: ids.make(prefix: "toolu_vrtx_01", length: 22, alphabet: .alphanumeric),
            signature: "Eq" + ids.make(prefix: "QBCgIYAh", length: 40, alphabet: .alphanumeric))
        // Responses name the model in its dash form (`claude-3-7-sonnet-20250219`).
        answer.model = parsed.model.replacingOccurrences(of: "@", with: "-")
        guard stream else {
            return .answer(claudeJSON(answer.object()), model: parsed.model, faultSuffix: resource.faults)
        }
        var events = answer.events()
        // Vertex pads message_start before its closing brace, as recorded.
        if var start = events.first, start.hasSuffix("}\n\n") {
            start.removeLast(3)
            events[0] = start + "          }\n\n"
        }
        let vertexEvent =
            "event: vertex_event\ndata: "
            + #"{"type":"vertex_event","usage":{"input_tokens":\#(answer.inputTokens),"output_tokens":1,"#
            + #""cache_creation_input_tokens":null,"cache_read_input_tokens":null,"tiers":{"0-to-200000":{}}}}"#
            + "\n\n"
        switch settings.vertexEvent {
        case .none: break
        case .afterMessageStart: events.insert(vertexEvent, at: 1)
        case .beforeMessageStop: events.insert(vertexEvent, at: events.count - 1)
        }
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/event-stream; charset=utf-8")
        return .answer(
            MockReply(status: .ok, headers: headers, body: .stream(events)), model: parsed.model,
            faultSuffix: resource.faults)
    }

    private func claudeJSON(_ body: String) -> MockReply {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        return MockReply(status: .ok, headers: headers, body: .full(body))
    }

    /// `vertex-2023-10-16` (documented) or any `YYYY-MM-DD` (what newer SDKs send).
    static func isAnthropicVersion(_ text: String) -> Bool {
        if text == "vertex-2023-10-16" { return true }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.count == 3 && parts.map(\.count) == [4, 2, 2] && parts.allSatisfy { $0.allSatisfy(\.isNumber) }
    }

    /// Compact JSON with a space after every `:` outside strings (Vertex's stream chunks).
    static func spacedAfterColons(_ json: String) -> String {
        var out = ""
        out.reserveCapacity(json.utf8.count + 64)
        var inString = false
        var escaped = false
        for character in json {
            out.append(character)
            if inString {
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inString = false
                }
            } else if character == "\"" {
                inString = true
            } else if character == ":" {
                out.append(" ")
            }
        }
        return out
    }
}

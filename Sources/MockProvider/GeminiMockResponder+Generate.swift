import Foundation
import NIOHTTP1

/// `:generateContent`, `:streamGenerateContent` and `:countTokens`: validation, then the answer pretty-printed,
/// as SSE chunks (`data: {json}` + blank line, CRLF by default) or, without `alt=sse`, as a streamed JSON array.
extension GeminiMockResponder {
    func generate(
        _ request: MockRequest, model: String, faults: String?, method: String, sse: Bool
    ) -> MockResponderResult {
        let data = Data(request.body.readableBytesView)
        guard let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return .reply(
                status(
                    400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unexpected token.",
                    details: [Self.badRequest("Invalid JSON payload received. Unexpected token.")]
                )
            )
        }
        let parsed: GeminiMockRequest
        do {
            parsed = try GeminiMockRequest(body: body, model: model)
        } catch {
            let details = error.message.hasPrefix("Invalid") ? [Self.badRequest(error.message)] : []
            return .reply(status(400, "INVALID_ARGUMENT", error.message, details: details))
        }
        if method == "countTokens" {
            let tokens = parsed.promptTokens
            return .answer(
                pretty(
                    #"{"totalTokens":\#(tokens),"promptTokensDetails":[{"modality":"TEXT","tokenCount":\#(tokens)}]}"#
                ), model: model, faultSuffix: faults
            )
        }
        let answer = GeminiMockAnswer(
            parsed, model: model, responseID: ids.make(prefix: "", length: 22, alphabet: .alphanumeric),
            signature: ids.make(prefix: "CiQBVKhc", length: 32, alphabet: .alphanumeric)
        )
        let reply: MockReply
        if method == "generateContent" {
            reply = pretty(answer.object())
        } else if sse {
            let end = lineEnding + lineEnding
            reply = MockReply(
                status: .ok, headers: headers(contentType: "text/event-stream"),
                body: .stream(answer.chunks().map { "data: " + $0 + end })
            )
        } else {
            let chunks = answer.chunks().map { GeminiMockJSON.pretty($0).dropLast() }
            var events = chunks.enumerated().map { ($0.offset == 0 ? "[" : ",\r\n") + $0.element }
            events.append("]")
            reply = MockReply(
                status: .ok, headers: headers(contentType: "application/json; charset=UTF-8"), body: .stream(events)
            )
        }
        return .answer(reply, model: model, faultSuffix: faults)
    }

    static func badRequest(_ description: String) -> String {
        #"{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"description":"#
            + MockJSON.quoted(description) + "}]}"
    }
}

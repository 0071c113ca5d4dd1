import Foundation
import NIOHTTP1

/// `POST /v1/messages`: validation, then the answer as one `message` object or as the full event sequence
/// (docs/wire/anthropic.md). `count_tokens` shares the validation (`+CountTokens.swift`).
extension AnthropicMockResponder {
    func messages(_ request: MockRequest) -> MockResponderResult {
        let parsed: AnthropicMockRequest
        switch validated(request, requireMaxTokens: true) {
        case .success(let value): parsed = value
        case .failure(let failure): return .reply(failure.reply)
        }
        let answer = AnthropicMockAnswer(
            parsed, messageID: ids.make(prefix: "msg_01", length: 22, alphabet: .alphanumeric),
            toolUseID: ids.make(prefix: "toolu_01", length: 22, alphabet: .alphanumeric),
            signature: "Eq" + ids.make(prefix: "QBCgIYAh", length: 40, alphabet: .alphanumeric)
        )
        let reply: MockReply
        if parsed.stream {
            reply = MockReply(
                status: .ok,
                headers: headers(contentType: "text/event-stream; charset=utf-8", requestID: newRequestID()),
                body: .stream(answer.events())
            )
        } else {
            reply = json(answer.object())
        }
        return .answer(reply, model: parsed.model, faultSuffix: parsed.faults)
    }

    /// The body parsed and validated as a Messages request (`count_tokens` requires no `max_tokens`);
    /// the failure is the real API's error reply.
    func validated(
        _ request: MockRequest, requireMaxTokens: Bool
    ) -> Result<AnthropicMockRequest, MockReplyError> {
        let data = Data(request.body.readableBytesView)
        guard let body = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return .failure(
                MockReplyError(
                    reply: invalidRequest(message: "There was an error parsing the body of your request as JSON.")
                )
            )
        }
        do {
            let parsed = try AnthropicMockRequest(body: body, requireMaxTokens: requireMaxTokens)
            guard parsed.model.hasPrefix("claude-") else {
                return .failure(
                    MockReplyError(
                        reply: error(status: .notFound, type: "not_found_error", message: "model: \(parsed.model)")
                    )
                )
            }
            return .success(parsed)
        } catch {
            return .failure(MockReplyError(reply: invalidRequest(message: error.message)))
        }
    }
}

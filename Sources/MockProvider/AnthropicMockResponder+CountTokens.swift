import Foundation

/// `POST /v1/messages/count_tokens` (docs/wire/anthropic.md). The same headers as `/v1/messages` (checked
/// by `authenticate`) and the same model, system, message and tool validation, but the body may hold
/// only the fields of the SDKs' `MessageCountTokensParams`: `max_tokens`, `stream`, sampling and
/// metadata fields are "Extra inputs", as the real API's strict schema has it. The answer is
/// `{"input_tokens":N}`, N being exactly the `usage.input_tokens` that `/v1/messages` reports for the
/// same conversation (both come from `AnthropicMockRequest.inputTokens`). Counted in the stats and
/// open to model-suffix faults like every other request.
extension AnthropicMockResponder {
    static let countTokensFields: Set<String> = [
        "model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers", "context_management",
    ]

    func countTokens(_ request: MockRequest) -> MockResponderResult {
        let body = (try? JSONSerialization.jsonObject(with: Data(request.body.readableBytesView))) as? [String: Any]
        if let extra = body?.keys.sorted().first(where: { !Self.countTokensFields.contains($0) }) {
            return .reply(invalidRequest(message: "\(extra): Extra inputs are not permitted"))
        }
        switch validated(request, requireMaxTokens: false) {
        case .success(let parsed):
            return .answer(
                json(#"{"input_tokens":\#(parsed.inputTokens)}"#), model: parsed.model, faultSuffix: parsed.faults)
        case .failure(let failure):
            return .reply(failure.reply)
        }
    }
}

import Dialects
import GatewayCore

/// The token reservation made at admission: an estimate of the prompt (about four bytes of
/// JSON per token, a deliberate over-estimate for English text) plus the output the request
/// allows (`max_completion_tokens` / `max_tokens`, or `defaultOutputTokens`). Reconciled to the
/// provider's real usage after the answer.
enum AdmissionEstimate {
    static let defaultOutputTokens = 1024

    static func tokens(body: [UInt8]) -> (prompt: Int, output: Int) {
        let prompt = max(1, body.count / 4)
        var output = defaultOutputTokens
        if let scan = try? JSONScanner.scanObject(body) {
            for name in ["max_completion_tokens", "max_tokens"] {
                if let member = scan.member(name), let value = JSONScanner.integer(body, at: member.valueRange),
                    value > 0
                {
                    output = value
                    break
                }
            }
        }
        return (prompt, output)
    }
}

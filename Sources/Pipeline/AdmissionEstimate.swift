import Dialects
import GatewayCore

/// The token reservation made at admission: an estimate of the prompt (about four bytes of
/// JSON per token, a deliberate over-estimate for English text) plus the output the request
/// allows (`max_completion_tokens` / `max_tokens` / `max_output_tokens`, or `defaultOutputTokens`). Reconciled to the
/// provider's real usage after the answer.
///
/// A `max_tokens` beyond `maximumOutputTokens` (clients say "no limit" with `sys.maxsize`) is
/// reserved as `maximumOutputTokens`: no model writes more, and the reservation never
/// overflows. The request itself goes on unchanged; the provider judges the value.
enum AdmissionEstimate {
    static let defaultOutputTokens = 1024
    static let maximumOutputTokens = 1 << 30

    struct Tokens {
        var prompt: Int
        var output: Int

        /// Prompt and output summed (never overflows: both are bounded).
        var total: Int { prompt + output }
        /// The whole reservation as usage, for pricing it.
        var usage: TokenUsage { TokenUsage(promptTokens: prompt, completionTokens: output) }

        /// Usage when the provider reported none: the prompt as estimated, and `outputTokens` (about
        /// one token per relayed event for OpenAI and Anthropic streams), at most what was reserved.
        func usage(outputTokens: Int) -> TokenUsage {
            TokenUsage(promptTokens: prompt, completionTokens: min(max(1, outputTokens), output))
        }
    }

    static func total(body: [UInt8]) -> Int {
        tokens(body: body).total
    }

    static func tokens(body: [UInt8]) -> Tokens {
        let prompt = max(1, body.count / 4)
        var output = defaultOutputTokens
        if let scan = try? JSONScanner.scanObject(body) {
            for name in ["max_completion_tokens", "max_tokens", "max_output_tokens"] {
                if let member = scan.member(name), let value = JSONScanner.integer(body, at: member.valueRange),
                    value > 0
                {
                    output = min(value, maximumOutputTokens)
                    break
                }
            }
        }
        return Tokens(prompt: prompt, output: output)
    }
}

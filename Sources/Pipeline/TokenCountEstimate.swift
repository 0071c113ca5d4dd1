import GatewayCore

/// An estimate of a request's input tokens, for `count_tokens` when no Anthropic target can count
/// exactly: about four characters of text per token (rounded up per piece), a few tokens of
/// framing per message and tool, and a flat charge per image (Anthropic's own cost of an image
/// near its 1.15-megapixel limit, `width × height / 750`). Over-estimates rather than under.
enum TokenCountEstimate {
    static let tokensPerMessage = 4
    static let tokensPerTool = 8
    static let tokensPerImage = 1_600

    static func inputTokens(_ request: CanonicalRequest) -> Int {
        var total = request.system.reduce(0) { $0 + text($1) + tokensPerMessage }
        for message in request.messages {
            total += tokensPerMessage + parts(message.content)
        }
        for tool in request.tools {
            total += tokensPerTool + text(tool.name) + text(tool.description ?? "")
            total += ((tool.parameters?.count ?? 0) + 3) / 4
        }
        return max(1, total)
    }

    private static func parts(_ content: [CanonicalContentPart]) -> Int {
        content.reduce(0) { total, part in
            switch part {
            case .text(let value): total + text(value)
            case .image: total + tokensPerImage
            case .toolCall(let call): total + text(call.name) + text(call.arguments) + tokensPerMessage
            case .toolResult(let result): total + parts(result.content) + tokensPerMessage
            case .thinking(let value, _): total + text(value)
            case .redactedThinking(let data): total + text(data)
            }
        }
    }

    private static func text(_ value: String) -> Int {
        (value.utf8.count + 3) / 4
    }
}

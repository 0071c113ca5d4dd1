import GatewayCore

/// A Gemini stream translated into OpenAI chat chunks for an OpenAI-dialect client:
/// `GeminiStreamDecoder` → canonical events → `OpenAIChunkEncoder`, with the preamble
/// (the first chunk's `messageStart`, usage) held back until the first real output. A stream counts
/// as done (`sawDone`) when its body ended after a `finishReason`.
public struct GeminiToOpenAIStream: StreamTranslator {
    private var decoder = GeminiStreamDecoder()
    private var encoder: OpenAIChunkEncoder
    private var preamble: [UInt8] = []
    public private(set) var committed = false
    public private(set) var sawError = false
    public private(set) var sawDone = false

    public init(model: String, includeUsage: Bool, created: Int) {
        encoder = OpenAIChunkEncoder(model: model, created: created, includeUsage: includeUsage)
    }

    public var usage: TokenUsage? { decoder.usage }

    public mutating func push(_ chunk: [UInt8]) -> [UInt8] {
        translate(decoder.push(chunk))
    }

    public mutating func finish() -> [UInt8] {
        var output = translate(decoder.finish())
        if decoder.isComplete && !sawError && !encoder.isEnded {
            sawDone = true
            if !committed {
                committed = true
                output = preamble + output
                preamble = []
            }
            output += encoder.end()
        }
        return output
    }

    public mutating func releasePreamble() -> [UInt8] {
        committed = true
        defer { preamble = [] }
        return preamble
    }

    private mutating func translate(_ events: [CanonicalStreamEvent]) -> [UInt8] {
        var output: [UInt8] = []
        for event in events {
            if case .error = event {
                sawError = true
                // Before any output the error is a failed attempt; the pipeline fails over.
                if !committed { return [] }
            }
            guard !encoder.isEnded else { continue }
            let bytes = encoder.encode(event)
            if committed {
                output += bytes
            } else if AnthropicToOpenAIStream.isRealOutput(event) {
                committed = true
                output += preamble + bytes
                preamble = []
            } else {
                preamble += bytes
            }
        }
        return output
    }
}

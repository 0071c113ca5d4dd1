import GatewayCore

@testable import Dialects

/// JSONScanner: whatever the bytes, scanning never traps; `parse` accepts exactly what `validate`
/// does and its tree, written back, reads back the same; an accepted object is also a valid
/// value, its member ranges lie inside the input, and reading them never traps.
enum JSONFuzzing {
    static func scanner(_ bytes: [UInt8]) {
        _ = JSONScanner.firstInvalidUTF8(bytes)
        let valid = (try? JSONScanner.validate(bytes)) != nil
        let tree = try? JSONScanner.parse(bytes)
        precondition((tree != nil) == valid, "parse and validate disagree")
        if let tree { precondition((try? JSONScanner.parse(tree.bytes)) == tree, "a tree did not read back the same") }
        guard let scan = try? JSONScanner.scanObject(bytes) else { return }
        precondition(valid, "scanObject accepted what validate refused")
        for member in scan.members {
            precondition(member.valueRange.lowerBound >= 0 && member.valueRange.upperBound <= bytes.count)
            precondition(member.memberRange.lowerBound <= member.valueRange.lowerBound)
            _ = JSONScanner.integer(bytes, at: member.valueRange)
            _ = JSONScanner.string(bytes, at: member.valueRange)
            if member.kind == .object { _ = try? JSONScanner.scanObject(bytes, in: member.valueRange) }
            precondition((try? JSONScanner.validate(bytes, in: member.valueRange)) != nil, "member value invalid")
        }
    }
}

/// Request bodies through the gateway's checks and both client decoders, then re-encoded for
/// every provider dialect (what a translated attempt does).
enum RequestFuzzing {
    static func decoders(_ bytes: [UInt8]) {
        for endpoint in [RequestInspection.Endpoint.chatCompletions, .embeddings, .messages, .countTokens] {
            if let summary = try? RequestInspection.inspect(bytes, endpoint: endpoint) {
                let rewritten = RequestInspection.rewrite(bytes, summary: summary, upstreamModel: "fuzz-model")
                precondition((try? JSONScanner.scanObject(rewritten)) != nil, "rewrite broke the JSON")
            }
        }
        if let request = try? OpenAIChatRequestDecoder.decode(bytes) { encodeForEveryProvider(request) }
        if let request = try? AnthropicMessagesRequestDecoder.decode(bytes) { encodeForEveryProvider(request) }
    }

    private static func encodeForEveryProvider(_ request: CanonicalRequest) {
        _ = OpenAIChatRequestEncoder.encode(request)
        _ = try? AnthropicMessagesRequestEncoder.encode(request, defaultMaxTokens: 1024)
        _ = try? GeminiRequestEncoder.encode(request)
    }
}

/// Provider answers (complete bodies and error bodies) through every decoder and classifier,
/// and the decoded answer back out in both client dialects.
enum ResponseFuzzing {
    static func decoders(_ bytes: [UInt8]) {
        if let response = try? OpenAIChatResponseDecoder.decode(bytes) { reencode(response) }
        if let response = try? AnthropicMessagesResponseDecoder.decode(bytes) { reencode(response) }
        if let response = try? GeminiResponseDecoder.decode(bytes) { reencode(response) }
        for status in [nil, 400, 429, 503] {
            _ = OpenAIErrorClassifier.classify(status: status, body: bytes)
            _ = AnthropicErrorClassifier.classify(status: status, body: bytes)
            let gemini = GeminiErrorClassifier.classify(status: status, body: bytes)
            if let delay = gemini.retryAfter {
                precondition(delay >= .zero && delay <= RetryPolicy.maximumProviderDelay, "unbounded retryDelay")
            }
        }
        _ = RequestInspection.usage(inResponse: bytes)
        _ = OpenAIProviderCodec.errorCode(inBody: bytes)
        _ = OpenAIProviderCodec.errorMessage(inBody: bytes)
    }

    private static func reencode(_ response: CanonicalResponse) {
        _ = OpenAIChatResponseEncoder.encode(response, created: 0)
        _ = AnthropicMessagesResponseEncoder.encode(response)
        if let usage = response.usage {
            precondition(usage.promptTokens >= 0 && usage.completionTokens >= 0, "negative usage")
            precondition(usage.totalTokens <= 2 * TokenUsage.maximumCount, "unbounded usage")
        }
    }
}

/// Provider streams, split into chunks at fuzzed points, through every relay and translator.
enum StreamFuzzing {
    static func decoders(_ bytes: [UInt8]) {
        let chunks = FuzzChunks.split(bytes)
        run(OpenAIStreamRelay(forwardUsageChunk: bytes.first.map { $0 & 1 == 1 } ?? false), chunks)
        run(AnthropicStreamRelay(), chunks)
        run(
            CanonicalStreamTranslator<AnthropicStreamDecoder, OpenAIStreamEncoder>(
                model: "m", includeUsage: true, created: 0), chunks)
        run(
            CanonicalStreamTranslator<GeminiStreamDecoder, OpenAIStreamEncoder>(
                model: "m", includeUsage: true, created: 0), chunks)
        run(
            CanonicalStreamTranslator<OpenAIStreamDecoder, AnthropicStreamEncoder>(
                encoder: AnthropicStreamEncoder(model: "m")), chunks)
        run(
            CanonicalStreamTranslator<GeminiStreamDecoder, AnthropicStreamEncoder>(
                encoder: AnthropicStreamEncoder(model: "m")), chunks)
    }

    private static func run<T: StreamTranslator>(_ translator: T, _ chunks: [[UInt8]]) {
        var translator = translator
        for chunk in chunks {
            _ = translator.push(chunk)
            if translator.oversizedEvent { return }
        }
        if !translator.committed { _ = translator.releasePreamble() }
        _ = translator.finish()
        if let usage = translator.usage { precondition(usage.promptTokens >= 0 && usage.completionTokens >= 0) }
    }

    /// Every byte pushed comes back, in order, as events' raw bytes or as the unfinished rest.
    static func framer(_ bytes: [UInt8]) {
        var framer = SSEFramer(maximumEventBytes: 4096)
        var framed: [UInt8] = []
        var pushed: [UInt8] = []
        for chunk in FuzzChunks.split(bytes) {
            pushed += chunk
            for event in framer.push(chunk) { framed += event.raw }
            if framer.overflowed { return }
        }
        framed += framer.finish()
        precondition(framed == pushed, "the framer lost or reordered bytes")
    }
}

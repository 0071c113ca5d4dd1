/// One libFuzzer target: a name (the corpus directory under `Tests/Fuzz/Corpus/`) and a function
/// that must never trap, whatever the bytes.
struct FuzzTarget: Sendable {
    let name: String
    let summary: String
    let run: @Sendable ([UInt8]) -> Void

    static let all: [FuzzTarget] = [
        FuzzTarget(name: "json-scanner", summary: "JSONScanner scan/validate/values", run: JSONFuzzing.scanner),
        FuzzTarget(
            name: "request-decoders",
            summary: "inspect + OpenAI/Anthropic request decoders, re-encoded for every provider",
            run: RequestFuzzing.decoders
        ),
        FuzzTarget(
            name: "response-decoders", summary: "response decoders and error classifiers",
            run: ResponseFuzzing.decoders),
        FuzzTarget(
            name: "stream-decoders", summary: "stream relays and translators, split at fuzzed points",
            run: StreamFuzzing.decoders),
        FuzzTarget(name: "sse-framer", summary: "SSEFramer, raw bytes preserved", run: StreamFuzzing.framer),
        FuzzTarget(name: "response-head", summary: "CurlResponseHeadParser", run: UpstreamFuzzing.responseHead),
        FuzzTarget(name: "cache-key", summary: "CacheKeyBuilder", run: PipelineFuzzing.cacheKey),
        FuzzTarget(name: "config", summary: "GatewayConfiguration.parse", run: ConfigurationFuzzing.parse),
    ]

    static func named(_ name: String) -> FuzzTarget? {
        all.first { $0.name == name }
    }
}

/// Splits fuzz input into pieces at the positions its first byte picks, so one input also
/// exercises the chunking of incremental parsers.
struct FuzzChunks {
    static func split(_ bytes: [UInt8]) -> [[UInt8]] {
        guard let seed = bytes.first else { return [] }
        let body = Array(bytes.dropFirst())
        let step = Int(seed % 17) + 1
        var pieces: [[UInt8]] = []
        var offset = 0
        var size = step
        while offset < body.count {
            let end = min(body.count, offset + size)
            pieces.append(Array(body[offset..<end]))
            offset = end
            size = size % 23 + step
        }
        return pieces
    }
}

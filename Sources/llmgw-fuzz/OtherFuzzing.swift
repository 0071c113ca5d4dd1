import GatewayCore
import Pipeline

@testable import Upstream

/// The response head parser, fed line by line as libcurl's header callback would be.
enum UpstreamFuzzing {
    static func responseHead(_ bytes: [UInt8]) {
        var parser = CurlResponseHeadParser(maximumBytes: 8192, maximumHeaderCount: 64)
        var start = 0
        for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") || index == bytes.count - 1 {
            let event = bytes[start...index].withUnsafeBytes { parser.parse(line: $0) }
            start = index + 1
            precondition(parser.headers.count <= 64, "header count over its cap")
            if event != .needMore { break }
        }
        if let status = parser.status { precondition((0...999).contains(status)) }
    }
}

/// The cache key: deterministic, and never a trap.
enum PipelineFuzzing {
    static func cacheKey(_ bytes: [UInt8]) {
        let first = CacheKeyBuilder.key(
            namespace: "key:fuzz", model: "m", endpoint: "/v1/chat/completions", body: bytes)
        let again = CacheKeyBuilder.key(
            namespace: "key:fuzz", model: "m", endpoint: "/v1/chat/completions", body: bytes)
        precondition(first == again, "the cache key is not deterministic")
    }
}

/// The configuration loader: any text gives a configuration or errors, never a trap.
enum ConfigurationFuzzing {
    static func parse(_ bytes: [UInt8]) {
        _ = try? GatewayConfiguration.parse(yaml: String(decoding: bytes, as: UTF8.self), source: "fuzz.yaml")
    }
}

import Foundation
import GatewayCore
import Store

/// `scripts/bench-semantic`: the semantic cache's lookup (`LMDBSemanticIndex.nearest`, an exact
/// search through the LMDB executor, as the pipeline calls it) at a given number of entries, all in
/// one namespace (the worst case: one shared namespace, or one busy caller and prompt shape).
///
///     llmgw-bench-semantic [--entries 10000,100000] [--dimensions 384] [--queries 200] [--dir PATH]
///
/// Prints one `entries=N dimensions=D p50_ms=… p99_ms=… mean_ms=…` line per size.
@main
struct BenchSemantic {
    static func main() async throws {
        var sizes = [10_000, 100_000]
        var dimensions = 384
        var queries = 200
        var directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-bench-semantic-\(getpid())"
        ).path
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            guard let value = arguments.next() else { usage() }
            switch argument {
            case "--entries": sizes = value.split(separator: ",").compactMap { Int($0) }
            case "--dimensions": dimensions = Int(value) ?? dimensions
            case "--queries": queries = Int(value) ?? queries
            case "--dir": directory = value
            default: usage()
            }
        }
        var generator = SplitMix(seed: 42)
        func randomVector() -> SemanticVector {
            SemanticVector(embedding: (0..<dimensions).map { _ in generator.nextFloat() * 2 - 1 })!
        }
        let namespace = CacheKey(digest: [UInt8](repeating: 7, count: 32))
        for size in sizes {
            try? FileManager.default.removeItem(atPath: directory)
            let bytesPerEntry = dimensions + 300
            let environment = try LMDBEnvironment(
                .init(
                    path: directory, mapSizeBytes: max(64 << 20, size * bytesPerEntry * 3), durability: .relaxed,
                    databases: ["semantic", "semantic_age", "meta"]))
            // A lookup of a debug build at 100k entries outlasts the default 0.5 s wait for the store.
            let index = LMDBSemanticIndex(
                executor: LMDBExecutor(environment: environment, configuration: .init(timeout: .seconds(60))))
            let fillStart = ContinuousClock.now
            for entry in 0..<size {
                var digest = [UInt8](repeating: 0, count: 32)
                withUnsafeBytes(of: UInt64(entry).bigEndian) { digest.replaceSubrange(0..<8, with: $0) }
                try await index.insert(
                    SemanticEntry(
                        vector: randomVector(), answerKey: CacheKey(digest: digest), storedAtMillis: Int64(entry),
                        expiresAtMillis: .max),
                    namespace: namespace, maxEntries: size)
            }
            let fill = ContinuousClock.now - fillStart
            var times: [Double] = []
            for _ in 0..<queries {
                let query = randomVector()
                let start = ContinuousClock.now
                _ = try await index.nearest(query, namespace: namespace, threshold: 0.92, limit: 4, nowMillis: 0)
                times.append((ContinuousClock.now - start) / .milliseconds(1))
            }
            times.sort()
            let mean = times.reduce(0, +) / Double(times.count)
            func percentile(_ p: Double) -> Double { times[min(times.count - 1, Int(Double(times.count) * p))] }
            print(
                "entries=\(size) dimensions=\(dimensions) queries=\(queries)"
                    + " p50_ms=\(format(percentile(0.5))) p99_ms=\(format(percentile(0.99))) mean_ms=\(format(mean))"
                    + " fill_s=\(format(fill / .seconds(1)))")
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    static func format(_ value: Double) -> String { String(format: "%.2f", value) }

    static func usage() -> Never {
        FileHandle.standardError.write(
            Data("usage: llmgw-bench-semantic [--entries N,M] [--dimensions D] [--queries Q] [--dir PATH]\n".utf8))
        exit(2)
    }
}

/// A seeded generator: the same vectors on every run.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 24) }
}

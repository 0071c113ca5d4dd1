// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "llmgw",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "llmgw", targets: ["llmgw"]),
        .executable(name: "llmgw-mock", targets: ["llmgw-mock"]),
        .executable(name: "llmgw-bench-admission", targets: ["llmgw-bench-admission"]),
        .executable(name: "llmgw-bench-semantic", targets: ["llmgw-bench-semantic"]),
        .executable(name: "llmgw-bench-guardrails", targets: ["llmgw-bench-guardrails"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C leaves: only Upstream imports CCurl, only Store imports CLMDB, only RedisStore imports CHiredis.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // hiredis 0.14 on Debian 12: no TLS (see shim.h). Only RedisStore imports it. No pkgConfig:
        // hiredis.pc adds -D_FILE_OFFSET_BITS=64, which SwiftPM refuses with a warning.
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),

        // The core: canonical model, errors, configuration, ports. No NIO, no C.
        .target(
            name: "GatewayCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
        .target(
            name: "Dialects",
            dependencies: ["GatewayCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "Pipeline",
            dependencies: [
                "GatewayCore", "Dialects",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                // RS256 signing of the service-account JWT (Vertex AI OAuth2 tokens).
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Server",
            dependencies: [
                "GatewayCore", "Pipeline",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Upstream",
            dependencies: [
                "GatewayCore", "CCurl",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "Store",
            dependencies: ["GatewayCore", "CLMDB", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        // Limits, budgets and usage shared across hosts in Redis/Valkey (`shared.redis`).
        .target(
            name: "RedisStore",
            dependencies: ["GatewayCore", "CHiredis", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .target(
            name: "MockProvider",
            dependencies: [
                // The Vertex mock verifies the RS256 signature of service-account JWTs.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "llmgw",
            dependencies: [
                "GatewayCore", "Pipeline", "Server", "Upstream", "Store", "RedisStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "llmgw-mock",
            dependencies: [
                "MockProvider",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // `scripts/bench-semantic`: the semantic cache's lookup latency at 10k and 100k entries.
        .executableTarget(name: "llmgw-bench-semantic", dependencies: ["GatewayCore", "Store"], swiftSettings: strict),
        // `scripts/bench-guardrails`: the guardrail stage's cost on a 4 KB prompt and per stream delta.
        .executableTarget(
            name: "llmgw-bench-guardrails", dependencies: ["GatewayCore", "Pipeline"], swiftSettings: strict),
        // `scripts/bench-admission`: shared check-and-charge per second, straight on the store.
        .executableTarget(
            name: "llmgw-bench-admission",
            dependencies: [
                "GatewayCore", "Store",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),

        // Test support shared by the test targets (never linked into an executable): one raw HTTP
        // client, the in-process pipeline harness, the Dialects wire fixtures, chunk feeding, and
        // `withSidecars`/`withCleanup` that stop every process a test starts.
        .target(
            name: "GatewayTesting",
            dependencies: [
                "GatewayCore", "Pipeline", "MockProvider",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/GatewayTesting",
            swiftSettings: strict
        ),

        .testTarget(name: "GatewayCoreTests", dependencies: ["GatewayCore"], swiftSettings: strict),
        .testTarget(
            name: "DialectsTests",
            dependencies: ["Dialects", "GatewayTesting"],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Pipeline", "GatewayTesting", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "ServerTests",
            dependencies: ["Server", "GatewayTesting", .product(name: "NIOEmbedded", package: "swift-nio")],
            swiftSettings: strict
        ),
        .testTarget(
            name: "UpstreamTests",
            dependencies: [
                "Upstream",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "StoreTests", dependencies: ["Store", "GatewayTesting"], swiftSettings: strict),
        .testTarget(
            name: "RedisStoreTests",
            dependencies: [
                "RedisStore", "GatewayCore", "GatewayTesting",
                // FleetAdmissionStore over a real Redis: on_error when the server is killed.
                "Pipeline", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "MockProviderTests",
            dependencies: [
                "MockProvider", "GatewayTesting", "Dialects", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["MockProvider", "GatewayCore", "GatewayTesting"],
            exclude: ["python"],
            swiftSettings: strict
        ),
        // deploy/: the manifests and units parse and agree with the gateway, the Dockerfile's inputs
        // exist, and its runtime packages cover what the built llmgw links.
        .testTarget(
            name: "DeployTests",
            dependencies: ["GatewayCore", "GatewayTesting", .product(name: "Yams", package: "Yams")],
            swiftSettings: strict
        ),
    ]
)

// Fuzz targets (`scripts/fuzz`): declared only with LLMGW_FUZZ=1, and built with
// `-sanitize=fuzzer,address` in their own scratch path, so a plain `swift build` never links them.
if Context.environment["LLMGW_FUZZ"] == "1" {
    package.targets += [
        .target(name: "CLibFuzzer"),
        .executableTarget(
            name: "llmgw-fuzz",
            dependencies: ["CLibFuzzer", "GatewayCore", "Dialects", "Pipeline", "Upstream"],
            swiftSettings: strict
        ),
    ]
}

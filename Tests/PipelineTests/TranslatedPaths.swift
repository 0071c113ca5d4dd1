import GatewayCore
import GatewayTesting
import Pipeline
import Testing

/// The gateway the translated-path tests run: one target of each provider kind, a model that
/// fails over from Anthropic to OpenAI, and a provider key per provider that must reach only its
/// own header.
enum TranslatedPaths {
    static let keys = [
        "claude": "test-anthropic-SECRET-7g8h9i0j",
        "gem": "test-gemini-SECRET-k1l2m3n4",
        "azure-eu": "azure-SECRET-5o6p7q8r9s0t",
        "openai": "test-openai-SECRET-1a2b3c4d5e6f",
    ]

    static let configuration = GatewayConfiguration(
        providers: [
            ProviderConfiguration(name: "claude", kind: .anthropic, baseURL: "http://claude"),
            ProviderConfiguration(name: "gem", kind: .gemini, baseURL: "http://gem"),
            ProviderConfiguration(name: "azure-eu", kind: .azure, baseURL: "http://azure-eu", apiVersion: "2024-10-21"),
            ProviderConfiguration(name: "openai", kind: .openai, baseURL: "http://openai/v1"),
        ],
        models: [
            ModelConfiguration(name: "claude", targets: [.init(provider: "claude", model: "claude-sonnet-4-5")]),
            ModelConfiguration(name: "gemini", targets: [.init(provider: "gem", model: "gemini-2.5-flash")]),
            ModelConfiguration(name: "azure", targets: [.init(provider: "azure-eu", model: "gpt4o-prod")]),
            ModelConfiguration(name: "smart", targets: [.init(provider: "openai", model: "gpt-4o-mini")]),
            ModelConfiguration(
                name: "claude-first",
                targets: [
                    .init(provider: "claude", model: "claude-sonnet-4-5"),
                    .init(provider: "openai", model: "gpt-4o-mini"),
                ]),
        ]
    )

    /// `configuration` with `change` applied to the Azure provider.
    static func configuration(azure change: (inout ProviderConfiguration) -> Void) -> GatewayConfiguration {
        var configuration = configuration
        for index in configuration.providers.indices where configuration.providers[index].kind == .azure {
            change(&configuration.providers[index])
        }
        return configuration
    }

    static func harness(_ script: [String: [ScriptedAnswer]]) -> PipelineHarness {
        PipelineHarness(configuration, keyring: ProviderKeyring(keys), transport: ScriptedTransport(script))
    }

    /// `prefix` answers with the wire fixture `name` as JSON, with `status`.
    static func harness(_ prefix: String, answering name: String, status: Int = 200) throws -> PipelineHarness {
        harness([prefix: [.json(try WireFixture.bytes(name), status: status)]])
    }

    /// The access record has the usage the provider reported, and nothing the client got names a key.
    static func expectUsage(
        _ reply: PipelineReply, prompt: Int, completion: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(reply.record.usage?.promptTokens == prompt, sourceLocation: sourceLocation)
        #expect(reply.record.usage?.completionTokens == completion, sourceLocation: sourceLocation)
        expectNoKeys(in: reply, sourceLocation: sourceLocation)
    }

    /// A wire fixture with `original` replaced by `replacement` (which must occur in it).
    static func fixture(
        _ name: String, replacing replacements: [(original: String, replacement: String)] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String {
        var text = try WireFixture.text(name)
        for (original, replacement) in replacements {
            try #require(text.contains(original), "\(name) has no \(original)", sourceLocation: sourceLocation)
            text = text.replacingOccurrences(of: original, with: replacement)
        }
        return text
    }

    /// `openai/chat_request.json` (a client's OpenAI request with tools, an image and a tool
    /// result) asking for `model`, streamed or not.
    static func chatRequest(model: String, stream: Bool) throws -> String {
        try fixture(
            "openai/chat_request.json",
            replacing: [
                (#""model":"gpt-4o-mini""#, #""model":"\#(model)""#),
                (
                    #""stream":true,"stream_options":{"include_usage":true}"#,
                    stream ? #""stream":true,"stream_options":{"include_usage":true}"# : #""stream":false"#
                ),
            ])
    }

    /// `anthropic_front/request_full.json` (a client's Messages request) asking for `model`.
    static func messagesRequest(model: String, stream: Bool) throws -> String {
        try fixture(
            "anthropic_front/request_full.json",
            replacing: [
                (#""model":"claude-sonnet-4-5""#, #""model":"\#(model)""#),
                (#""stream":true"#, #""stream":\#(stream)"#),
            ])
    }

    /// The request carries `provider`'s key in `header` (after `scheme`, as in `Bearer `) and in
    /// nothing else (URL, other headers, body).
    static func expectKey(
        _ request: UpstreamRequest?, in header: String, of provider: String, scheme: String = "",
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let request else {
            Issue.record("nothing was sent upstream", sourceLocation: sourceLocation)
            return
        }
        let key = keys[provider]!
        #expect(request.header(header) == scheme + key, sourceLocation: sourceLocation)
        let elsewhere = request.headers.filter { $0.name.lowercased() != header && $0.value.contains(key) }
        #expect(elsewhere.isEmpty, "the key also went in \(elsewhere.map(\.name))", sourceLocation: sourceLocation)
        #expect(request.header("authorization") == nil || header == "authorization", sourceLocation: sourceLocation)
        for other in keys.values {
            #expect(!request.url.contains(other), "a key in the URL", sourceLocation: sourceLocation)
            #expect(!request.bodyText.contains(other), "a key in the body", sourceLocation: sourceLocation)
        }
    }

    /// No provider key in what the client got, nor in the access record.
    static func expectNoKeys(in reply: PipelineReply, sourceLocation: SourceLocation = #_sourceLocation) {
        for key in keys.values {
            #expect(!reply.body.contains(key), "a provider key in the body", sourceLocation: sourceLocation)
            #expect(
                !reply.writer.headers.contains { $0.value.contains(key) }, "a provider key in a header",
                sourceLocation: sourceLocation)
            #expect(
                !(reply.record.errorMessage ?? "").contains(key), "a provider key in the access record",
                sourceLocation: sourceLocation)
        }
    }

    /// The client got exactly `fixture`'s events (names and parsed data, in order), `id`,
    /// `created` and `model` aside.
    static func expectEvents(
        _ reply: PipelineReply, equal fixture: String, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let ignoring: Set<String> = ["id", "created", "model"]
        #expect(
            try WireJSON.events(reply.bodyBytes, ignoring: ignoring)
                == WireJSON.events(WireFixture.bytes(fixture), ignoring: ignoring),
            sourceLocation: sourceLocation)
    }
}

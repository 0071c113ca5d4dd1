import GatewayCore
import GatewayTesting
import Testing

@testable import Pipeline

/// The semantic cache in the pipeline, on in-memory stores, with scripted embeddings.
@Suite struct SemanticCacheStageTests {
    static var configuration: GatewayConfiguration {
        var configuration = ChatScript.configuration
        configuration.providers.append(
            ProviderConfiguration(name: "embedder", kind: .openai, baseURL: "http://embedder/v1"))
        var smart = configuration.models[0]
        smart.targets = [smart.targets[0]]
        smart.semanticCache = true
        configuration.models = [
            smart, ModelConfiguration(name: "embed", targets: [.init(provider: "embedder", model: "e")]),
        ]
        configuration.cache.semantic.embeddingModel = "embed"
        configuration.cache.semantic.threshold = 0.9
        configuration.cache.semantic.budget = .seconds(5)
        return configuration
    }

    static func embedding(_ values: [Double]) -> ScriptedAnswer {
        let list = values.map { "\($0)" }.joined(separator: ",")
        return .json(
            Array(
                #"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[\#(list)]}],"model":"e","usage":{"prompt_tokens":2,"total_tokens":2}}"#
                    .utf8))
    }

    static func chat(_ text: String) -> String {
        #"{"model":"smart","messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    @Test func aCloseEmbeddingIsAHitAndAFarOneAMiss() async throws {
        let transport = ScriptedTransport([
            "http://primary": [ChatScript.ok, ChatScript.ok],
            "http://embedder": [
                Self.embedding([1, 0, 0]), Self.embedding([0.98, 0.2, 0]), Self.embedding([0, 1, 0]),
            ],
        ])
        let gateway = PipelineHarness(
            Self.configuration, transport: transport, stores: [.keysAndAdmission, .cache, .semantic])
        let first = await gateway.send(Self.chat("one"))
        #expect(first.header("x-llmgw-cache") == "miss")
        let close = await gateway.send(Self.chat("two"))
        #expect(close.header("x-llmgw-cache") == "semantic-hit")
        #expect(close.header("x-llmgw-cache-similarity") == "0.97")
        #expect(close.record.cache == .semanticHit)
        #expect(close.record.outcome == .cacheHit)
        #expect(close.body == first.body)
        let far = await gateway.send(Self.chat("three"))
        #expect(far.header("x-llmgw-cache") == "miss")
        #expect(transport.requests(to: "http://primary").count == 2)
        // The embedding requests are logged as the gateway's own.
        let embeddings = gateway.log.all.filter { $0.internal == "semantic_cache" }
        #expect(embeddings.count == 3)
        #expect(embeddings.allSatisfy { $0.route == "/v1/embeddings" && $0.status == 200 })
    }

    @Test func aPointerWhoseAnswerIsGoneIsAMissAndIsDeleted() async throws {
        let transport = ScriptedTransport([
            "http://primary": [ChatScript.ok, ChatScript.ok],
            "http://embedder": [Self.embedding([1, 0, 0]), Self.embedding([1, 0.05, 0])],
        ])
        let gateway = PipelineHarness(
            Self.configuration, transport: transport, stores: [.keysAndAdmission, .cache, .semantic])
        _ = await gateway.send(Self.chat("one"))
        #expect(try await gateway.semantic.entryCount() == 1)
        let key = try #require(
            CacheKeyBuilder.key(
                namespace: "anonymous", model: "smart", endpoint: "/v1/chat/completions",
                body: Array(Self.chat("one").utf8)))
        #expect(try gateway.cache.remove(key))
        let after = await gateway.send(Self.chat("two"))
        #expect(after.header("x-llmgw-cache") == "miss")
        // The dangling entry went; the new answer's entry took its place.
        #expect(try await gateway.semantic.entryCount() == 1)
        #expect(transport.requests(to: "http://primary").count == 2)
    }

    @Test func aFailedEmbeddingIsAMiss() async throws {
        let transport = ScriptedTransport([
            "http://primary": [ChatScript.ok],
            "http://embedder": [.json(Array(#"{"error":{"message":"bad"}}"#.utf8), status: 400)],
        ])
        let gateway = PipelineHarness(
            Self.configuration, transport: transport, stores: [.keysAndAdmission, .cache, .semantic])
        let reply = await gateway.send(Self.chat("one"))
        #expect(reply.status == 200)
        #expect(reply.header("x-llmgw-cache") == "miss")
        #expect(try await gateway.semantic.entryCount() == 0)
    }

    @Test(arguments: [false, true])
    func theEmbeddingIsChargedToTheInternalCallerUnlessChargeCallerIsSet(_ chargeCaller: Bool) async throws {
        var configuration = Self.configuration
        configuration.cache.semantic.chargeCaller = chargeCaller
        let transport = ScriptedTransport([
            "http://primary": [ChatScript.ok], "http://embedder": [Self.embedding([1, 0, 0])],
        ])
        let gateway = PipelineHarness(
            configuration, transport: transport, stores: [.keysAndAdmission, .cache, .semantic])
        _ = await gateway.send(Self.chat("one"))
        let embedUsage = try gateway.admission.usage(fromDay: nil).filter { $0.model == "embed" }
        #expect(embedUsage.map(\.caller) == [chargeCaller ? "anonymous" : "internal:semantic_cache"])
        // The access line names the caller whose prompt was embedded either way.
        #expect(gateway.log.all.first { $0.internal != nil }?.caller == "anonymous")
    }
}

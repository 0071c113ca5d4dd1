import Foundation
import GatewayTesting
import Testing

/// The semantic cache across two sidecars on one state directory, with the mock's bag-of-words
/// embedding (`text-embedding-bow`: texts sharing most words are similar, others are not).
@Suite(.serialized, .timeLimit(.minutes(3))) struct SemanticCacheEndToEndTests {
    static let models = """
          - name: embed
            targets: [{ provider: mock, model: text-embedding-bow }]
          - name: embed-down
            targets: [{ provider: mock, model: "text-embedding-bow#status=503" }]
          - name: embed-slow
            targets: [{ provider: mock, model: "text-embedding-bow#delay=5s" }]
          - name: semantic
            semantic_cache: true
            targets: [{ provider: mock, model: gpt-4o-mini }]
        """

    /// A generous budget by default: on a loaded machine an embedding may take more than 150 ms,
    /// and these tests are about hits, not about the budget (the last one is).
    static func semanticConfig(embeddingModel: String = "embed", budget: String = "3s", extra: String = "") -> String {
        "cache: { semantic: { embedding_model: \(embeddingModel), threshold: 0.9, budget: \(budget)\(extra) } }"
    }

    static let question = "What is the capital of France?"
    static let paraphrase = "what is the capital city of france"

    func chat(_ text: String, system: String? = nil, tools: Bool = false, stream: Bool = false) -> String {
        var messages: [[String: Any]] = []
        if let system { messages.append(["role": "system", "content": system]) }
        messages.append(["role": "user", "content": text])
        var body: [String: Any] = ["model": "semantic", "messages": messages]
        if tools {
            body["tools"] = [
                [
                    "type": "function",
                    "function": ["name": "lookup", "parameters": ["type": "object", "properties": [:]]],
                ] as [String: Any]
            ]
        }
        if stream { body["stream"] = true }
        let data = try! JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    @Test func aParaphraseIsASemanticHitOnAnotherSidecarAndAnUnrelatedPromptIsAMiss() async throws {
        try await withSidecars(count: 2, extra: { _ in Self.semanticConfig() }, models: Self.models) { group in
            let key = try group.cli(["keys", "create", "--name", "semantic"])
            let headers = [("authorization", "Bearer \(key)")]
            let first = try await group.client(0).post(
                "/v1/chat/completions", json: chat(Self.question), headers: headers)
            #expect(first.status == 200)
            #expect(first.header("x-llmgw-cache") == "miss")
            let hit = try await group.client(1).post(
                "/v1/chat/completions", json: chat(Self.paraphrase), headers: headers)
            #expect(hit.status == 200)
            #expect(hit.header("x-llmgw-cache") == "semantic-hit")
            let similarity = Double(hit.header("x-llmgw-cache-similarity") ?? "") ?? 0
            #expect(similarity >= 0.9 && similarity < 1)
            // The answer is the first prompt's (the mock echoes the prompt), not a new one.
            #expect(hit.body == first.body)
            #expect(group.mock.stats.requestsByPath["/v1/chat/completions"] == 1)
            #expect(group.mock.stats.requestsByPath["/v1/embeddings"] == 2)

            let unrelated = try await group.client(1).post(
                "/v1/chat/completions", json: chat("Write a haiku about autumn leaves"), headers: headers)
            #expect(unrelated.header("x-llmgw-cache") == "miss")
            #expect(unrelated.header("x-llmgw-cache-similarity") == nil)
            #expect(group.mock.stats.requestsByPath["/v1/chat/completions"] == 2)

            // The access lines: the hit says so, the embedding requests are marked as internal.
            // (Lines are written by a thread of their own: wait for the last one.)
            for _ in 0..<50 where group.allOutput().components(separatedBy: "\"internal\"").count < 4 {
                await pause(seconds: 0.1)
            }
            let lines = group.allOutput().split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.filter { $0["msg"] as? String == "request" }
            #expect(
                lines.contains { $0["cache"] as? String == "semantic_hit" && $0["outcome"] as? String == "cache_hit" })
            let internalLines = lines.filter { $0["internal"] as? String == "semantic_cache" }
            #expect(internalLines.count == 3)
            #expect(
                internalLines.allSatisfy {
                    $0["route"] as? String == "/v1/embeddings" && $0["model"] as? String == "embed"
                })
            #expect(!group.allOutput().contains(key))
        }
    }

    @Test func anotherSystemPromptToolSetOrCallerIsAMiss() async throws {
        try await withSidecars(count: 2, extra: { _ in Self.semanticConfig() }, models: Self.models) { group in
            let alice = [("authorization", "Bearer \(try group.cli(["keys", "create", "--name", "alice"]))")]
            let bob = [("authorization", "Bearer \(try group.cli(["keys", "create", "--name", "bob"]))")]
            func ask(_ socket: Int, _ body: String, _ headers: [(String, String)]) async throws -> String? {
                let response = try await group.client(socket).post("/v1/chat/completions", json: body, headers: headers)
                #expect(response.status == 200)
                return response.header("x-llmgw-cache")
            }
            let system = "You are a geography tutor."
            #expect(try await ask(0, chat(Self.question, system: system), alice) == "miss")
            // Positive control: the same system prompt, a paraphrase, on the other sidecar.
            #expect(try await ask(1, chat(Self.paraphrase, system: system), alice) == "semantic-hit")
            #expect(try await ask(1, chat(Self.paraphrase, system: "You are a pirate."), alice) == "miss")
            #expect(try await ask(1, chat(Self.paraphrase, system: system, tools: true), alice) == "miss")
            #expect(try await ask(1, chat(Self.paraphrase, system: system), bob) == "miss")
            // A stream is not answered from a plain answer (nor the other way round).
            #expect(try await ask(1, chat(Self.paraphrase, system: system, stream: true), alice) == "miss")
        }
    }

    @Test func noCacheSkipsTheLookupAndNoStoreBypassesIt() async throws {
        try await withSidecars(count: 1, extra: { _ in Self.semanticConfig() }, models: Self.models) { group in
            let key = [("authorization", "Bearer \(try group.cli(["keys", "create", "--name", "directives"]))")]
            let client = group.client(0)
            let noStore = try await client.post(
                "/v1/chat/completions", json: chat(Self.question), headers: key + [("x-llmgw-cache", "no-store")])
            #expect(noStore.header("x-llmgw-cache") == "bypass")
            #expect(group.mock.stats.requestsByPath["/v1/embeddings"] == nil)
            let noCache = try await client.post(
                "/v1/chat/completions", json: chat(Self.question), headers: key + [("x-llmgw-cache", "no-cache")])
            #expect(noCache.header("x-llmgw-cache") == "miss")
            // Stored by the no-cache request: a paraphrase now hits, but not under no-cache.
            let skipped = try await client.post(
                "/v1/chat/completions", json: chat(Self.paraphrase), headers: key + [("x-llmgw-cache", "no-cache")])
            #expect(skipped.header("x-llmgw-cache") == "miss")
            // (The no-cache paraphrase stored its own answer too: another wording.)
            let hit = try await client.post(
                "/v1/chat/completions", json: chat("what is the capital of france please"), headers: key)
            #expect(hit.header("x-llmgw-cache") == "semantic-hit")
        }
    }

    @Test(arguments: ["embed-down", "embed-slow"])
    func anEmbeddingProviderDownOrSlowIsAMissWithinTheBudget(_ model: String) async throws {
        try await withSidecars(
            count: 1, extra: { _ in Self.semanticConfig(embeddingModel: model, budget: "300ms") },
            models: Self.models
        ) { group in
            let key = [("authorization", "Bearer \(try group.cli(["keys", "create", "--name", "down"]))")]
            let started = ContinuousClock.now
            let first = try await group.client(0).post("/v1/chat/completions", json: chat(Self.question), headers: key)
            let elapsed = ContinuousClock.now - started
            #expect(first.status == 200)
            #expect(first.header("x-llmgw-cache") == "miss")
            // The slow embedding answers after 5s: the request did not wait for it.
            #expect(elapsed < .seconds(4))
            let again = try await group.client(0).post(
                "/v1/chat/completions", json: chat(Self.paraphrase), headers: key)
            #expect(again.status == 200)
            #expect(again.header("x-llmgw-cache") == "miss")
            // The exact cache still works without embeddings.
            let exact = try await group.client(0).post("/v1/chat/completions", json: chat(Self.question), headers: key)
            #expect(exact.header("x-llmgw-cache") == "hit")
        }
    }

    @Test func theOldestEntryIsEvictedPastMaxEntries() async throws {
        try await withSidecars(
            count: 2, extra: { _ in Self.semanticConfig(extra: ", max_entries: 2") }, models: Self.models
        ) { group in
            let key = [("authorization", "Bearer \(try group.cli(["keys", "create", "--name", "evict"]))")]
            func ask(_ socket: Int, _ text: String) async throws -> String? {
                try await group.client(socket).post("/v1/chat/completions", json: chat(text), headers: key)
                    .header("x-llmgw-cache")
            }
            #expect(try await ask(0, "how many legs does a spider have") == "miss")
            #expect(try await ask(0, "what is the boiling point of water at sea level") == "miss")
            #expect(try await ask(1, "name the largest planet in the solar system") == "miss")
            // The first entry was evicted by the third (on the other sidecar); the last two remain.
            #expect(try await ask(1, "how many legs does a spider have please") == "miss")
            #expect(try await ask(0, "name the largest planet in the solar system please") == "semantic-hit")
        }
    }

    @Test func anEntryExpiresWithItsTTL() async throws {
        try await withSidecars(count: 1, extra: { _ in Self.semanticConfig(extra: ", ttl: 1s") }, models: Self.models) {
            group in
            let key = [("authorization", "Bearer \(try group.cli(["keys", "create", "--name", "ttl"]))")]
            let client = group.client(0)
            _ = try await client.post("/v1/chat/completions", json: chat(Self.question), headers: key)
            let fresh = try await client.post("/v1/chat/completions", json: chat(Self.paraphrase), headers: key)
            #expect(fresh.header("x-llmgw-cache") == "semantic-hit")
            await pause(seconds: 1.2)
            let later = try await client.post(
                "/v1/chat/completions", json: chat("what is the capital of france please"), headers: key)
            #expect(later.header("x-llmgw-cache") == "miss")
        }
    }
}

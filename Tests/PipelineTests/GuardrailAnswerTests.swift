import Dialects
import GatewayCore
import GatewayTesting
import Pipeline
import Testing

/// The answer side of the guardrails through the whole pipeline: reversible masking with the
/// cache, answers refused whole and mid-stream, translated streams masked.
@Suite struct GuardrailAnswerTests {
    typealias Paths = TranslatedPaths

    static let email = "jane.doe@example.com"
    static let card = "4111 1111 1111 1111"

    static func harness(
        _ guardrails: [GuardrailConfiguration], answers: [String: [ScriptedAnswer]], cache: Bool = false
    ) -> PipelineHarness {
        var configuration = Paths.configuration
        configuration.guardrails = guardrails
        configuration.cache.enabled = cache
        for index in configuration.models.indices { configuration.models[index].guardrails = guardrails.map(\.name) }
        return PipelineHarness(
            configuration, keyring: ProviderKeyring(Paths.keys), transport: ScriptedTransport(answers),
            stores: cache ? [.keysAndAdmission, .cache] : [])
    }

    static func guardrail(
        _ name: String, on side: GuardrailConfiguration.Side, action: GuardrailConfiguration.Action = .mask,
        restore: Bool = false, entities: [GuardrailConfiguration.Entity]? = nil
    ) -> GuardrailConfiguration {
        var guardrail = GuardrailConfiguration(name: name, kind: .pii)
        guardrail.on = side
        guardrail.action = action
        guardrail.restore = restore
        if let entities { guardrail.entities = entities }
        return guardrail
    }

    static func chatAnswer(_ content: String) -> ScriptedAnswer {
        let body = """
            {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,\
            "message":{"role":"assistant","content":\(String(decoding: JSONValue.string(content).bytes, as: UTF8.self))},\
            "finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}}
            """
        return .json(Array(body.utf8))
    }

    static func content(_ reply: PipelineReply) -> String? {
        JSONScanner.parseObject(reply.bodyBytes)?["choices"]?[0]?["message"]?["content"]?.string
    }

    static func request(_ email: String) -> String {
        #"{"model":"smart","messages":[{"role":"user","content":"Draft a note to \#(email) about lunch."}]}"#
    }

    @Test func reversibleMaskingRestoresTheValueForItsRequestOnlyAndTheCacheKeepsThePlaceholder() async throws {
        let gateway = Self.harness(
            [Self.guardrail("pii", on: .request, restore: true)],
            answers: ["http://openai": [Self.chatAnswer("Sure, I will write to [EMAIL_1] today.")]], cache: true)
        let first = await gateway.send(Self.request(Self.email))
        #expect(first.status == 200)
        #expect(Self.content(first) == "Sure, I will write to \(Self.email) today.")
        let sent = String(decoding: try #require(gateway.transport.requests.first).body, as: UTF8.self)
        #expect(!sent.contains(Self.email) && sent.contains("[EMAIL_1]"))
        // The cache holds the placeholder, never the value.
        let stored = gateway.cache.storedBodies.map { String(decoding: $0, as: UTF8.self) }
        #expect(stored.count == 1 && stored.allSatisfy { $0.contains("[EMAIL_1]") && !$0.contains(Self.email) })

        // Another caller's value masks to the same body: the cached answer gets its own value back.
        let second = await gateway.send(Self.request("bob@corp.example"))
        #expect(second.record.cache == .hit)
        #expect(Self.content(second) == "Sure, I will write to bob@corp.example today.")
        #expect(gateway.transport.requests.count == 1)
        for record in gateway.log.all {
            let line = String(decoding: record.jsonLine(timestamp: "t"), as: UTF8.self)
            #expect(!line.contains(Self.email) && !line.contains("bob@corp.example"))
        }
    }

    @Test func anAnswerGuardrailMasksTheAnswerAndCountsIt() async throws {
        let gateway = Self.harness(
            [Self.guardrail("pii-out", on: .response)],
            answers: ["http://openai": [Self.chatAnswer("Their card is \(Self.card), mail \(Self.email).")]])
        let reply = await gateway.send(Self.request("nobody"))
        #expect(reply.status == 200)
        #expect(Self.content(reply) == "Their card is [CARD_1], mail [EMAIL_1].")
        #expect(reply.record.guardrails == "pii-out:card:mask=1,pii-out:email:mask=1")
        // on: response leaves the request alone.
        let sent = String(decoding: try #require(gateway.transport.requests.first).body, as: UTF8.self)
        #expect(sent.contains("nobody"))
    }

    @Test func aRefusedAnswerIsA400NamingTheGuardrailAndIsNotCached() async throws {
        let gateway = Self.harness(
            [Self.guardrail("no-cards", on: .both, action: .reject, entities: [.card])],
            answers: ["http://openai": [Self.chatAnswer("Use \(Self.card).")]], cache: true)
        let reply = await gateway.send(Self.request("nobody"))
        #expect(reply.status == 400)
        #expect(!reply.body.contains("4111"))
        let error = JSONScanner.parseObject(reply.bodyBytes)?["error"]
        #expect(error?["code"]?.string == "guardrail_violation")
        #expect(error?["message"]?.string?.contains("answer was refused by guardrail \"no-cards\"") == true)
        #expect(reply.record.guardrails == "no-cards:card:reject=1")
        #expect(reply.record.outcome == .badRequest)
        #expect(gateway.cache.entryCount == 0)
    }

    @Test func aCommittedStreamIsCutWhereARefusedEntityBegins() async throws {
        let head =
            #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":"#
        var sse = "data: \(head){\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
        let filler = String(repeating: "words and more words ", count: 10)
        for piece in [filler, "then the card 4111 1111 ", "1111 1111 and the rest"] {
            sse += "data: \(head){\"content\":\"\(piece)\"},\"finish_reason\":null}]}\n\n"
        }
        sse += "data: \(head){},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
        let gateway = Self.harness(
            [Self.guardrail("no-cards", on: .response, action: .reject, entities: [.card])],
            answers: ["http://openai": [.eventStream(Array(sse.utf8), chunkSize: 40)]])
        let request = #"{"model":"smart","stream":true,"messages":[{"role":"user","content":"go"}]}"#
        let reply = await gateway.send(request)
        #expect(reply.status == 200)
        #expect(!reply.body.contains("4111"))
        #expect(reply.body.contains("then the card"))
        #expect(reply.body.contains("guardrail_violation"))
        #expect(!reply.body.contains("[DONE]"))
        #expect(reply.record.outcome == .streamCut)
        #expect(reply.record.guardrails == "no-cards:card:reject=1")
    }

    @Test func aTranslatedStreamIsMaskedInTheClientsDialect() async throws {
        let sse = try Paths.fixture(
            "anthropic/stream_text.sse",
            replacing: [("\"Hello\"", "\"Hello, mail jane.doe@exa\""), ("\"!\\nBye", "\"mple.com!\\nBye")])
        let gateway = Self.harness(
            [Self.guardrail("pii-out", on: .response)],
            answers: ["http://claude": [.eventStream(Array(sse.utf8), chunkSize: 16)]])
        let request = #"{"model":"claude","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
        let reply = await gateway.send(request)
        #expect(reply.status == 200)
        #expect(!reply.body.contains("jane.doe"))
        #expect(reply.body.contains("[EMAIL_1]"))
        #expect(reply.body.contains("data: [DONE]"))
        #expect(reply.record.guardrails == "pii-out:email:mask=1")
    }
}

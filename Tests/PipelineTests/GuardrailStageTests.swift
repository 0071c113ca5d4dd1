import GatewayCore
import GatewayTesting
import Pipeline
import Testing

/// The guardrail stage in process: masking and refusals on requests of both front dialects, to
/// passthrough targets (whose body must stay byte-exact outside the masks).
@Suite struct GuardrailStageTests {
    typealias Paths = TranslatedPaths

    static let email = "jane.doe@example.com"
    static let card = "4111 1111 1111 1111"

    static func harness(
        action: GuardrailConfiguration.Action, entities: [GuardrailConfiguration.Entity]? = nil,
        answers: [String: [ScriptedAnswer]]
    ) -> PipelineHarness {
        var configuration = Paths.configuration
        var guardrail = GuardrailConfiguration(name: "pii-in", kind: .pii)
        guardrail.action = action
        if let entities { guardrail.entities = entities }
        configuration.guardrails = [guardrail]
        configuration.metrics.enabled = true
        for index in configuration.models.indices { configuration.models[index].guardrails = ["pii-in"] }
        return PipelineHarness(
            configuration, keyring: ProviderKeyring(Paths.keys), transport: ScriptedTransport(answers))
    }

    static func line(_ record: AccessRecord) -> String {
        String(decoding: record.jsonLine(timestamp: "t"), as: UTF8.self)
    }

    static func chatRequest() -> String {
        """
        {"model":"smart","messages":[{"role":"system","content":"Mail \(email) if stuck."},\
        {"role":"user","content":[{"type":"text","text":"Pay with \(card) please, mail \(email)"}]},\
        {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",\
        "function":{"name":"lookup","arguments":"{\\"email\\":\\"\(email)\\"}"}}]},\
        {"role":"tool","tool_call_id":"call_1","content":"owner: bob@corp.example"}]}
        """
    }

    @Test func anOpenAIRequestIsMaskedInEveryTextWithTheRestByteExact() async throws {
        let gateway = Self.harness(
            action: .mask, answers: ["http://openai": [.json(try WireFixture.bytes("openai/chat_response.json"))]])
        let request = Self.chatRequest()
        let reply = await gateway.send(request)

        #expect(reply.status == 200)
        let sent = String(decoding: try #require(gateway.transport.requests.first).body, as: UTF8.self)
        #expect(!sent.contains(Self.email))
        #expect(!sent.contains(Self.card))
        #expect(!sent.contains("bob@corp.example"))
        // The same value gets the same placeholder; another value the next number.
        let expected =
            request
            .replacingOccurrences(of: Self.email, with: "[EMAIL_1]")
            .replacingOccurrences(of: Self.card, with: "[CARD_1]")
            .replacingOccurrences(of: "bob@corp.example", with: "[EMAIL_2]")
            .replacingOccurrences(of: #""model":"smart""#, with: #""model":"gpt-4o-mini""#)
        #expect(sent == expected)
        #expect(reply.record.guardrails == "pii-in:card:mask=1,pii-in:email:mask=4")
        #expect(!Self.line(reply.record).contains(Self.email))
    }

    /// The official SDKs send `model` after `messages`: a mask that changes the body's length before
    /// `model` must not shift the rewrite of `model` (the summary is read again from the masked body).
    @Test func aMaskBeforeTheModelMemberKeepsTheBodyValid() async throws {
        let gateway = Self.harness(
            action: .mask, answers: ["http://openai": [.json(try WireFixture.bytes("openai/chat_response.json"))]])
        let reply = await gateway.send(
            #"{"messages":[{"role":"user","content":"write to a@b.io please"}],"model":"smart","stream":false}"#)
        #expect(reply.status == 200)
        let sent = String(decoding: try #require(gateway.transport.requests.first).body, as: UTF8.self)
        #expect(
            sent
                == #"{"messages":[{"role":"user","content":"write to [EMAIL_1] please"}],"model":"gpt-4o-mini","stream":false}"#
        )
    }

    @Test func aMessagesRequestToAnAnthropicTargetIsMaskedByteForByteOutsideTheMasks() async throws {
        let gateway = Self.harness(
            action: .mask,
            answers: ["http://claude": [.json(try WireFixture.bytes("anthropic/message_response.json"))]])
        let request = try Paths.messagesRequest(model: "claude", stream: false)
            .replacingOccurrences(of: "You are terse.", with: "You are terse. Escalate to \(Self.email).")
            .replacingOccurrences(of: "18C, cloudy", with: "18C, cloudy, station 192.168.1.20")
            .replacingOccurrences(of: #"{"city":"Paris"}"#, with: #"{"city":"Paris","card":"\#(Self.card)"}"#)
        let reply = await gateway.send(request, to: "/v1/messages")

        #expect(reply.status == 200)
        let sent = String(decoding: try #require(gateway.transport.requests.first).body, as: UTF8.self)
        let masked =
            request
            .replacingOccurrences(of: Self.email, with: "[EMAIL_1]")
            .replacingOccurrences(of: "192.168.1.20", with: "[IP_1]")
            .replacingOccurrences(of: Self.card, with: "[CARD_1]")
        // Only the model is rewritten for the target besides the masks.
        #expect(sent == masked.replacingOccurrences(of: #""model":"claude""#, with: #""model":"claude-sonnet-4-5""#))
        #expect(reply.record.guardrails == "pii-in:card:mask=1,pii-in:email:mask=1,pii-in:ip:mask=1")
    }

    @Test func aRejectingGuardrailRefusesInEachDialectNamingItButNotTheValue() async throws {
        let gateway = Self.harness(action: .reject, entities: [.card], answers: [:])
        let openAI = await gateway.send(Self.chatRequest())
        #expect(openAI.status == 400)
        let error = try #require(try WireJSON.object(openAI.bodyBytes)["error"] as? [String: Any])
        #expect(error["code"] as? String == "guardrail_violation")
        #expect((error["message"] as? String)?.contains("\"pii-in\"") == true)
        #expect(!openAI.body.contains(Self.card))
        #expect(openAI.record.guardrails == "pii-in:card:reject=1")

        let request = try Paths.messagesRequest(model: "claude", stream: false)
            .replacingOccurrences(of: "Weather in Paris?", with: "Charge \(Self.card)")
        let anthropic = await gateway.send(request, to: "/v1/messages")
        #expect(anthropic.status == 400)
        let body = try WireJSON.object(anthropic.bodyBytes)
        #expect(body["type"] as? String == "error")
        let message = try #require((body["error"] as? [String: Any])?["message"] as? String)
        #expect(message.contains("guardrail_violation") && message.contains("\"pii-in\""))
        #expect(!anthropic.body.contains(Self.card))
        #expect(gateway.transport.requests.isEmpty)
        for record in gateway.log.all { #expect(!Self.line(record).contains(Self.card)) }

        let writer = RecordingWriter()
        await gateway.pipeline.handle(
            GatewayRequest(method: "GET", path: "/metrics", headers: [], body: []), writer: writer)
        #expect(
            writer.body.contains(#"llmgw_guardrail_matches_total{guardrail="pii-in",entity="card",action="reject"} 2"#))
    }

    @Test func aLogGuardrailCountsButSendsTheRequestUnchanged() async throws {
        let gateway = Self.harness(
            action: .log, answers: ["http://openai": [.json(try WireFixture.bytes("openai/chat_response.json"))]])
        let reply = await gateway.send(Self.chatRequest())
        #expect(reply.status == 200)
        let sent = String(decoding: try #require(gateway.transport.requests.first).body, as: UTF8.self)
        #expect(sent.contains(Self.email) && sent.contains(Self.card))
        #expect(reply.record.guardrails == "pii-in:card:log=1,pii-in:email:log=4")
    }

    @Test func aModelWithoutGuardrailsIsNotScreened() async throws {
        var configuration = Paths.configuration
        configuration.guardrails = [GuardrailConfiguration(name: "pii-in", kind: .pii)]
        let gateway = PipelineHarness(
            configuration, keyring: ProviderKeyring(Paths.keys),
            transport: ScriptedTransport(["http://openai": [.json(try WireFixture.bytes("openai/chat_response.json"))]])
        )
        let reply = await gateway.send(Self.chatRequest())
        #expect(reply.status == 200)
        #expect(reply.record.guardrails == nil)
        let sent = String(decoding: try #require(gateway.transport.requests.first).body, as: UTF8.self)
        #expect(sent.contains(Self.email))
    }

    @Test func theConfigurationNamesGuardrailsAndRejectsUnknownOnes() throws {
        let yaml = """
            providers:
              openai: { kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: x }
            guardrails:
              - { name: pii, kind: pii, on: request, action: mask, entities: [email, card] }
              - name: tickets
                kind: regex
                action: reject
                patterns: [{ label: ticket, regex: "TCK-[0-9]{6}" }]
            models:
              - { name: smart, guardrails: [pii, tickets], targets: [{ provider: openai, model: gpt-4o }] }
            """
        let configuration = try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml")
        #expect(configuration.guardrails.map(\.name) == ["pii", "tickets"])
        #expect(configuration.guardrails[0].entities == [.email, .card])
        #expect(configuration.guardrails[0].on == .request)
        #expect(configuration.guardrails[1].patterns == [.init(label: "ticket", regex: "TCK-[0-9]{6}")])
        #expect(configuration.models[0].guardrails == ["pii", "tickets"])

        let broken = yaml.replacingOccurrences(of: "[pii, tickets]", with: "[pii, nope]")
            .replacingOccurrences(of: "[email, card]", with: "[email, cards]")
        #expect(throws: ConfigurationErrors.self) {
            try GatewayConfiguration.parse(yaml: broken, source: "config.yaml")
        }
        do {
            _ = try GatewayConfiguration.parse(yaml: broken, source: "config.yaml")
        } catch {
            let text = "\(error)"
            #expect(text.contains("unknown guardrail \"nope\""))
            #expect(text.contains("unknown entity type \"cards\""))
        }
    }

    @Test func answerSidesAndReversibleMaskingAreConfigured() throws {
        let yaml = """
            providers:
              openai: { kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: x }
            guardrails:
              - { name: private, kind: pii, on: both, action: mask, restore: true }
              - { name: out, kind: pii, on: response, action: reject, entities: [card] }
            models:
              - { name: smart, guardrails: [private, out], targets: [{ provider: openai, model: gpt-4o }] }
            """
        let configuration = try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml")
        #expect(configuration.guardrails.map(\.on) == [.both, .response])
        #expect(configuration.guardrails.map(\.restore) == [true, false])

        for broken in [
            yaml.replacingOccurrences(of: "action: mask, restore", with: "action: log, restore"),
            yaml.replacingOccurrences(of: "on: both, action: mask", with: "on: response, action: mask"),
        ] {
            do {
                _ = try GatewayConfiguration.parse(yaml: broken, source: "config.yaml")
                Issue.record("accepted: \(broken)")
            } catch {
                #expect("\(error)".contains("guardrails[0].restore: restore: true needs action: mask on the request"))
            }
        }
    }

    @Test func aCallersGuardrailsApplyToItsRequestsOnly() async throws {
        var configuration = Paths.configuration
        configuration.guardrails = [GuardrailConfiguration(name: "pii-in", kind: .pii)]
        configuration.auth.mode = .peer
        var billing = CallerConfiguration(name: "billing", uid: 1001)
        billing.guardrails = ["pii-in"]
        configuration.callers = [billing, CallerConfiguration(name: "batch", uid: 1002)]
        let answer = ScriptedAnswer.json(try WireFixture.bytes("openai/chat_response.json"))
        let gateway = PipelineHarness(
            configuration, keyring: ProviderKeyring(Paths.keys),
            transport: ScriptedTransport(["http://openai": [answer, answer]]), stores: [.keysAndAdmission])
        let request = #"{"model":"smart","messages":[{"role":"user","content":"mail \#(Self.email)"}]}"#
        let masked = await gateway.send(request, peer: PeerCredentials(pid: 1, uid: 1001, gid: 100))
        #expect(masked.status == 200)
        #expect(masked.record.guardrails == "pii-in:email:mask=1")
        let plain = await gateway.send(request, peer: PeerCredentials(pid: 1, uid: 1002, gid: 100))
        #expect(plain.status == 200 && plain.record.guardrails == nil)
        let sent = gateway.transport.requests.map { String(decoding: $0.body, as: UTF8.self) }
        #expect(sent.count == 2 && !sent[0].contains(Self.email) && sent[1].contains(Self.email))
    }

    @Test func aCallerNamesOnlyDeclaredGuardrails() {
        let yaml = """
            auth: { mode: peer }
            providers:
              openai: { kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: x }
            guardrails:
              - { name: pii, kind: pii }
            callers:
              - { name: billing, uid: 1001, guardrails: [pii, nope] }
            models:
              - { name: smart, targets: [{ provider: openai, model: gpt-4o }] }
            """
        do {
            _ = try GatewayConfiguration.parse(yaml: yaml, source: "config.yaml")
            Issue.record("accepted an unknown guardrail")
        } catch {
            #expect("\(error)".contains("callers[0].guardrails[1]: unknown guardrail \"nope\""), "\(error)")
        }
    }
}

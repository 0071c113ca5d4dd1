import Dialects
import GatewayCore
import GatewayTesting
import Testing

@testable import Pipeline

/// `kind: json_schema`: the validator's keywords, the configuration, and answers refused whole
/// or at the end of their stream.
@Suite struct GuardrailSchemaTests {
    static let schema = """
        {"type":"object","required":["total","items"],"additionalProperties":false,
        "properties":{"total":{"type":"number","minimum":0},"currency":{"enum":["EUR","USD"]},
        "items":{"type":"array","minItems":1,"items":{"$ref":"#/$defs/item"}}},
        "$defs":{"item":{"type":"object","required":["sku"],"properties":{"sku":{"type":"string","pattern":"^[A-Z]{3}-[0-9]+$"},
        "qty":{"type":"integer","exclusiveMinimum":0}}}}}
        """

    static func violation(_ json: String) -> String? {
        let validator = JSONSchemaValidator(Array(schema.utf8))!
        return validator.violation(try! JSONScanner.parse(Array(json.utf8)))
    }

    @Test func theValidatorFindsTheFirstViolationByPathWithoutTheValue() {
        #expect(Self.violation(#"{"total":12.5,"currency":"EUR","items":[{"sku":"ABC-1","qty":2}]}"#) == nil)
        #expect(Self.violation(#"{"total":"12","items":[{"sku":"ABC-1"}]}"#) == "$.total: expected number")
        #expect(Self.violation(#"{"total":-1,"items":[{"sku":"ABC-1"}]}"#) == "$.total: below the minimum 0.0")
        #expect(Self.violation(#"{"total":1,"items":[]}"#) == "$.items: fewer than 1 items")
        #expect(Self.violation(#"{"total":1}"#) == "$.items: required")
        #expect(Self.violation(#"{"total":1,"items":[{"sku":"abc"}]}"#) == "$.items[0].sku: does not match the pattern")
        #expect(
            Self.violation(#"{"total":1,"items":[{"sku":"ABC-1","qty":1.5}]}"#) == "$.items[0].qty: expected integer")
        #expect(Self.violation(#"{"total":1,"items":[{"sku":"ABC-1","qty":0}]}"#) == "$.items[0].qty: not above 0.0")
        #expect(
            Self.violation(#"{"total":1,"currency":"GBP","items":[{"sku":"ABC-1"}]}"#)
                == "$.currency: not one of the allowed values")
        #expect(
            Self.violation(#"{"total":1,"items":[{"sku":"ABC-1"}],"secret":"x"}"#)
                == "$: a property the schema does not allow")
        let oneOf = JSONSchemaValidator(Array(#"{"oneOf":[{"type":"integer"},{"type":"number"}]}"#.utf8))!
        #expect(oneOf.violation(.number("1")) == "$: matches 2 of oneOf, not exactly one")
        #expect(oneOf.violation(.number("1.5")) == nil)
    }

    @Test func aFencedAnswerIsReadAsItsJSON() {
        #expect(JSONSchemaValidator.json(inAnswer: "```json\n{\"a\":1}\n```")?["a"]?.int == 1)
        #expect(JSONSchemaValidator.json(inAnswer: " {\"a\":1} ")?["a"]?.int == 1)
        #expect(JSONSchemaValidator.json(inAnswer: "Here you go: {\"a\":1}") == nil)
    }

    static let yaml = """
        providers:
          openai: { kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: x }
        guardrails:
          - name: invoice
            kind: json_schema
            schema:
              type: object
              required: [total]
              properties:
                total: { type: number, minimum: 0 }
                note: { type: string, maxLength: 20 }
        models:
          - { name: smart, guardrails: [invoice], targets: [{ provider: openai, model: gpt-4o }] }
        """

    @Test func theSchemaIsReadFromYAMLAndUnknownKeywordsAreRefused() throws {
        let configuration = try GatewayConfiguration.parse(yaml: Self.yaml, source: "config.yaml")
        let guardrail = try #require(configuration.guardrails.first)
        #expect(guardrail.kind == .jsonSchema && guardrail.on == .response && guardrail.action == .reject)
        let validator = try #require(guardrail.schema.flatMap(JSONSchemaValidator.init))
        #expect(validator.violation(try JSONScanner.parse(Array(#"{"total":3}"#.utf8))) == nil)
        #expect(validator.violation(try JSONScanner.parse(Array(#"{"total":"3"}"#.utf8))) == "$.total: expected number")

        for (change, message) in [
            (
                ("maxLength: 20", "maxLength: 20, dependentSchemas: {}"),
                "dependentSchemas: unsupported JSON Schema keyword"
            ),
            (("kind: json_schema", "kind: json_schema\n    action: mask"), "takes action: reject or log"),
            (("kind: json_schema", "kind: json_schema\n    on: both"), "it takes on: response"),
        ] {
            do {
                _ = try GatewayConfiguration.parse(
                    yaml: Self.yaml.replacingOccurrences(of: change.0, with: change.1), source: "config.yaml")
                Issue.record("accepted \(change.1)")
            } catch {
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }

    static func harness(_ answers: [ScriptedAnswer]) throws -> PipelineHarness {
        var configuration = try GatewayConfiguration.parse(
            yaml: Self.yaml.replacingOccurrences(of: "http://127.0.0.1:9/v1", with: "http://openai/v1"),
            source: "config.yaml")
        configuration.cache.enabled = false
        return PipelineHarness(
            configuration, keyring: ProviderKeyring(["openai": "k-openai-0123456789"]),
            transport: ScriptedTransport(["http://openai": answers]))
    }

    static func chat(_ content: String) -> ScriptedAnswer {
        let text = String(decoding: JSONValue.string(content).bytes, as: UTF8.self)
        return .json(
            Array(
                """
                {"id":"c","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,\
                "message":{"role":"assistant","content":\(text)},"finish_reason":"stop"}]}
                """.utf8))
    }

    @Test func aMatchingAnswerPassesAndAFailingOneIsRefusedWithItsPath() async throws {
        let gateway = try Self.harness([
            Self.chat(#"{"total": 12}"#), Self.chat(#"{"total": "twelve"}"#), Self.chat("no JSON"),
        ])
        let request = #"{"model":"smart","messages":[{"role":"user","content":"invoice please"}]}"#
        let good = await gateway.send(request)
        #expect(good.status == 200)
        let bad = await gateway.send(request)
        #expect(bad.status == 400)
        #expect(bad.body.contains("refused by guardrail \\\"invoice\\\" (found: schema: $.total: expected number)"))
        #expect(!bad.body.contains("twelve"))
        #expect(bad.record.guardrails == "invoice:schema:reject=1")
        let prose = await gateway.send(request)
        #expect(prose.body.contains("schema: $: not JSON"))
    }

    @Test func aStreamedAnswerIsCheckedWhenItsTextEndsAndCutInsteadOfItsTerminator() async throws {
        let head =
            #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":"#
        var sse = ""
        for piece in [#"{\"total\":"#, #" -3}"#] {
            sse += "data: \(head){\"content\":\"\(piece)\"},\"finish_reason\":null}]}\n\n"
        }
        sse += "data: \(head){},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
        let gateway = try Self.harness([.eventStream(Array(sse.utf8), chunkSize: 30)])
        let reply = await gateway.send(#"{"model":"smart","stream":true,"messages":[{"role":"user","content":"go"}]}"#)
        #expect(reply.status == 200)
        #expect(reply.body.contains("below the minimum"))
        #expect(!reply.body.contains("[DONE]"))
        #expect(reply.record.outcome == .streamCut)
        #expect(reply.record.guardrails == "invoice:schema:reject=1")
    }
}

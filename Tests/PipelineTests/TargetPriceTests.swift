import GatewayCore
import GatewayTesting
import Testing

@testable import Pipeline

@Suite struct TargetPriceTests {
    @Test func aConfiguredTargetPriceOverridesTheShippedTable() async throws {
        let configuration = ChatScript.configuration(smart: [
            .init(provider: "primary", model: "gpt-4o", price: ModelPrice(input: 1, output: 2))
        ])
        let reply = await PipelineHarness(
            configuration, transport: ScriptedTransport(["http://primary": [ChatScript.ok]])
        )
        .send(#"{"model":"smart","messages":[1]}"#, headers: [])
        // 5 prompt tokens at $1/M and 7 completion tokens at $2/M, not gpt-4o's list price.
        #expect(reply.record.costUSD == (5 * 1.0 + 7 * 2.0) / 1_000_000)
    }

    @Test func thePriceIsReadFromTheConfiguration() throws {
        let configuration = try GatewayConfiguration.parse(
            yaml: """
                providers: { openai: { kind: openai } }
                models:
                  - name: smart
                    targets: [{ provider: openai, model: my-finetune, price: { input: 3, cached_input: 1.5, output: 12 } }]
                """,
            source: "test.yaml"
        )
        #expect(configuration.models[0].targets[0].price == ModelPrice(input: 3, cachedInput: 1.5, output: 12))
        #expect(throws: ConfigurationErrors.self) {
            try GatewayConfiguration.parse(
                yaml: """
                    providers: { openai: { kind: openai } }
                    models: [{ name: s, targets: [{ provider: openai, model: m, price: { input: -1, output: 1 } }] }]
                    """,
                source: "test.yaml"
            )
        }
    }
}

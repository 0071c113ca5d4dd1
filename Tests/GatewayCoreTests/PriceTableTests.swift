import Testing

@testable import GatewayCore

@Suite struct PriceTableTests {
    @Test func matchesExactNamesAndDatedSnapshots() {
        let table = PriceTable()
        #expect(table.price(for: "gpt-4o") == ModelPrice(input: 2.50, cachedInput: 1.25, output: 10.00))
        #expect(table.price(for: "gpt-4o-mini-2024-07-18") == table.price(for: "gpt-4o-mini"))
        #expect(table.price(for: "gpt-4o-2024-08-06") == table.price(for: "gpt-4o"))
        #expect(table.price(for: "claude-sonnet-4-5-20250929") == table.price(for: "claude-sonnet-4-5"))
        #expect(table.price(for: "gpt-4") == nil)
        #expect(table.price(for: "my-local-llama") == nil)
    }

    @Test func costsCountCachedTokensAtTheCachedRate() {
        let price = ModelPrice(input: 2.50, cachedInput: 1.25, output: 10.00)
        let cost = price.cost(
            of: TokenUsage(promptTokens: 1_000_000, completionTokens: 100_000, cachedPromptTokens: 400_000))
        #expect(abs(cost - (0.6 * 2.50 + 0.4 * 1.25 + 0.1 * 10.00)) < 1e-9)
    }
}

import GatewayCore
import Testing

@Suite struct RetryPolicyTests {
    @Test(arguments: [
        ("3", Duration.seconds(3)),
        ("0.5", .milliseconds(500)),
        ("0", .zero),
        ("1e20", RetryPolicy.maximumProviderDelay),
        ("inf", RetryPolicy.maximumProviderDelay),
        ("1e400", RetryPolicy.maximumProviderDelay),
        ("9223372036854775807", RetryPolicy.maximumProviderDelay),
        (" 2 ", .seconds(2)),
    ])
    func providerSecondsAreBounded(text: String, expected: Duration) {
        #expect(RetryPolicy.providerDelay(headerSeconds: text) == expected)
    }

    @Test(arguments: ["-1", "-inf", "nan", "soon", "", "1e-400x"])
    func negativeOrUnreadableHintsAreIgnored(text: String) {
        #expect(RetryPolicy.providerDelay(headerSeconds: text) == nil)
        #expect(RetryPolicy.providerDelay(headerMilliseconds: text) == nil)
    }

    @Test func millisecondHeadersAreBoundedToo() {
        #expect(RetryPolicy.providerDelay(headerMilliseconds: "1500") == .milliseconds(1500))
        #expect(RetryPolicy.providerDelay(headerMilliseconds: "1e30") == RetryPolicy.maximumProviderDelay)
        #expect(RetryPolicy.providerDelay(seconds: .infinity) == RetryPolicy.maximumProviderDelay)
        #expect(RetryPolicy.providerDelay(seconds: -.infinity) == nil)
    }
}

@Suite struct TokenUsageBoundsTests {
    @Test func countsAreClampedIntoRange() {
        let usage = TokenUsage(
            promptTokens: Int.max, completionTokens: -5, cachedPromptTokens: Int.min, reasoningTokens: 7,
            cacheCreationPromptTokens: Int.max)
        #expect(usage.promptTokens == TokenUsage.maximumCount)
        #expect(usage.completionTokens == 0)
        #expect(usage.cachedPromptTokens == 0)
        #expect(usage.reasoningTokens == 7)
        #expect(usage.totalTokens == TokenUsage.maximumCount)
    }

    @Test func totalSaturatesWhenFieldsAreSetDirectly() {
        var usage = TokenUsage(promptTokens: 1, completionTokens: 1)
        usage.promptTokens = Int.max
        usage.completionTokens = Int.max
        #expect(usage.totalTokens == Int.max)
    }
}

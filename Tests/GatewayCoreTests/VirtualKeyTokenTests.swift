import Testing

@testable import GatewayCore

@Suite struct VirtualKeyTokenTests {
    @Test func generatedKeysRoundTripAndNeverPrintTheSecret() {
        let token = VirtualKeyToken.generate()
        #expect(VirtualKeyToken(parsing: token.text) == token)
        #expect(token.text.hasPrefix("sk-llmgw-"))
        #expect(!"\(token)".contains(token.secret))
        #expect(VirtualKeyToken.generate() != token)
    }

    @Test(arguments: [
        "", "sk-llmgw-", "sk-abc", "sk-llmgw-short-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
        "sk-llmgw-abcdefghijkl-tooShort", "sk-llmgw-ABCDEFGHIJKL-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
        "Bearer sk-llmgw-abcdefghijkl-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
    ])
    func rejectsMalformedKeys(_ text: String) {
        #expect(VirtualKeyToken(parsing: text) == nil)
    }
}

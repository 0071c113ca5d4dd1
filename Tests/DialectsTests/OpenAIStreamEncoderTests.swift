import GatewayCore
import Testing

@testable import Dialects

@Suite struct OpenAIStreamEncoderTests {
    private func payloads(_ bytes: [UInt8]) throws -> [[String: Any]] {
        try SSEFramerForTests().dataPayloadsCopy(bytes).map { try #require(FoundationJSON.object($0)) }
    }

    @Test func mergesTheRoleIntoAFirstToolCall() throws {
        var encoder = OpenAIStreamEncoder(model: "gpt-4o-mini", created: 7, includeUsage: false)
        var output = encoder.encode(.messageStart(id: "msg_1", model: "claude"))
        output += encoder.encode(.toolCallStart(index: 0, id: "call_P1", name: "get_weather"))
        output += encoder.encode(.toolCallArgumentsDelta(index: 0, fragment: ""))
        output += encoder.encode(.toolCallArgumentsDelta(index: 0, fragment: "{}"))
        output += encoder.encode(.finish(.toolCalls, stopSequence: nil))
        output += encoder.encode(.usage(TokenUsage(promptTokens: 1, completionTokens: 2)))
        output += encoder.end()
        let chunks = try payloads(output)
        #expect(chunks.count == 3)
        #expect(output.text.hasSuffix("data: [DONE]\n\n"))
        let first = try #require((chunks[0]["choices"] as? [[String: Any]])?.first)
        let delta = try #require(first["delta"] as? [String: Any])
        #expect(delta["role"] as? String == "assistant")
        #expect(delta.keys.contains("content"))
        #expect(((delta["tool_calls"] as? [[String: Any]])?.first?["id"]) as? String == "call_P1")
        #expect(chunks[0]["model"] as? String == "gpt-4o-mini")
        #expect(chunks[0]["id"] as? String == "msg_1")
        #expect(chunks[0]["created"] as? Int == 7)
        #expect(chunks[0]["usage"] == nil)
        #expect(!output.text.contains("\"choices\":[]"))
    }

    @Test func anEmptyAnswerStillHasARoleAndAFinish() throws {
        var encoder = OpenAIStreamEncoder(created: 0, includeUsage: true)
        var output = encoder.encode(.messageStart(id: "m", model: "c"))
        output += encoder.encode(.finish(.length, stopSequence: nil))
        output += encoder.end()
        let chunks = try payloads(output)
        #expect(chunks.count == 2)
        let finish = try #require((chunks[1]["choices"] as? [[String: Any]])?.first)
        #expect(finish["finish_reason"] as? String == "length")
        #expect((finish["delta"] as? [String: Any])?.isEmpty == true)
    }

    @Test func anErrorEndsWithoutDone() throws {
        var encoder = OpenAIStreamEncoder(created: 0, includeUsage: true)
        var output = encoder.encode(.messageStart(id: "m", model: "c"))
        output += encoder.encode(.usage(TokenUsage(promptTokens: 1, completionTokens: 0)))
        output += encoder.encode(.error(CanonicalError(.rateLimited, message: "slow down")))
        #expect(encoder.isEnded)
        let chunks = try payloads(output)
        #expect(chunks.count == 1)
        let error = try #require(chunks[0]["error"] as? [String: Any])
        #expect(error["type"] as? String == "rate_limit_exceeded")
        #expect(error["message"] as? String == "slow down")
        #expect(!output.text.contains("[DONE]"))
    }
}

extension SSEFramerForTests {
    /// The `data:` payloads other than `[DONE]`.
    func dataPayloadsCopy(_ bytes: [UInt8]) -> [[UInt8]] {
        var copy = self
        return copy.dataPayloads(bytes).filter { $0 != Array("[DONE]".utf8) }
    }
}

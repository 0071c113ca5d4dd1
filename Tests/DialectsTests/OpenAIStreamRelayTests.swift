import GatewayCore
import GatewayTesting
import Testing

@testable import Dialects

@Suite struct OpenAIStreamRelayTests {
    private func relay(_ transcript: [UInt8], forwardUsage: Bool, chunkSize: Int) -> (OpenAIStreamRelay, [UInt8]) {
        var relay = OpenAIStreamRelay(forwardUsageChunk: forwardUsage)
        var output: [UInt8] = []
        output += feed(transcript, inChunksOf: chunkSize) { relay.push($0) }
        output += relay.finish()
        return (relay, output)
    }

    @Test(arguments: [1, 5, 100, 100_000])
    func passesEveryByteWhenTheClientAskedForUsage(chunkSize: Int) throws {
        let transcript = try Fixture.bytes("openai/stream_text.sse")
        let (state, output) = relay(transcript, forwardUsage: true, chunkSize: chunkSize)
        #expect(output == transcript)
        #expect(state.usage == TokenUsage(promptTokens: 9, completionTokens: 2))
        #expect(state.sawDone)
        #expect(!state.sawError)
    }

    @Test func dropsTheForcedUsageChunkButKeepsTheUsage() throws {
        let transcript = try Fixture.bytes("openai/stream_tool_calls.sse")
        let (state, output) = relay(transcript, forwardUsage: false, chunkSize: 13)
        #expect(state.usage == TokenUsage(promptTokens: 61, completionTokens: 38))
        #expect(!output.text.contains("\"usage\":{"))
        #expect(output.text.hasSuffix("data: [DONE]\n\n"))
        #expect(
            output.text.components(separatedBy: "\n\n").count == transcript.text.components(separatedBy: "\n\n").count
                - 1)
    }

    @Test func anErrorBeforeRealOutputIsHeldForFailover() {
        var state = OpenAIStreamRelay(forwardUsageChunk: false)
        // Azure's annotation chunk (`choices: []`) is preamble; an error right after it reaches nobody.
        let out = state.push(Array("data: {\"choices\":[]}\n\ndata: {\"error\":{\"message\":\"boom\"}}\n\n".utf8))
        #expect(out.isEmpty)
        #expect(state.sawError)
        #expect(!state.committed)
        #expect(!state.sawDone)
    }

    @Test func anErrorAfterRealOutputIsRelayed() {
        var state = OpenAIStreamRelay(forwardUsageChunk: false)
        let content = #"data: {"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"# + "\n\n"
        let out = state.push(Array((content + "data: {\"error\":{\"message\":\"boom\"}}\n\n").utf8))
        #expect(out.text.contains("Hi"))
        #expect(out.text.contains("boom"))
        #expect(state.committed)
        #expect(state.sawError)
        #expect(!state.sawDone)
    }
}

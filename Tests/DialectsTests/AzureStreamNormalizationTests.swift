import GatewayCore
import GatewayTesting
import Testing

@testable import Dialects

/// Azure's stream as an OpenAI client sees it (`OpenAIStreamRelay(normalizingAzure:)`): the
/// `choices: []` annotation chunk dropped, `object` always `chat.completion.chunk`, everything
/// else byte for byte, wherever the upstream chunks split.
@Suite struct AzureStreamNormalizationTests {
    /// The transcript of docs/wire/azure.md §4, plus a usage chunk.
    static let annotation =
        #"data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}"#
        + "\n\n"
    static let rest =
        #"data: {"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1750697159,"id":"chatcmpl-Ble7","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_ee1d74bde0"}"#
        + "\n\n"
        + #"data: {"choices":[{"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}},"delta":{"content":"Hallo Welt!"},"finish_reason":null,"index":0,"logprobs":null}],"created":1750697159,"id":"chatcmpl-Ble7","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_ee1d74bde0"}"#
        + "\n\n"
        + #"data: {"choices":[{"content_filter_results":{},"delta":{},"finish_reason":"stop","index":0,"logprobs":null}],"created":1750697159,"id":"chatcmpl-Ble7","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_ee1d74bde0"}"#
        + "\n\n"
    static let usage =
        #"data: {"choices":[],"created":1750697159,"id":"chatcmpl-Ble7","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","usage":{"completion_tokens":3,"prompt_tokens":9,"total_tokens":12}}"#
        + "\n\n"
    static let done = "data: [DONE]\n\n"

    private func run(_ transcript: String, normalizing: Bool, forwardUsage: Bool, split: Int) -> (
        OpenAIStreamRelay, String
    ) {
        var relay = OpenAIStreamRelay(forwardUsageChunk: forwardUsage, normalizingAzure: normalizing)
        let bytes = Array(transcript.utf8)
        var output = relay.push(Array(bytes[..<split]))
        output += relay.push(Array(bytes[split...]))
        output += relay.finish()
        return (relay, String(decoding: output, as: UTF8.self))
    }

    @Test func theAnnotationChunkIsDroppedAtEverySplit() {
        let transcript = Self.annotation + Self.rest + Self.usage + Self.done
        for split in 0...transcript.utf8.count {
            let (state, output) = run(transcript, normalizing: true, forwardUsage: true, split: split)
            #expect(output == Self.rest + Self.usage + Self.done, "split at \(split)")
            #expect(state.usage == TokenUsage(promptTokens: 9, completionTokens: 3))
            #expect(state.sawDone)
        }
    }

    @Test func theForcedUsageChunkIsStillDroppedAndCounted() {
        let (state, output) = run(
            Self.annotation + Self.rest + Self.usage + Self.done, normalizing: true, forwardUsage: false, split: 7)
        #expect(output == Self.rest + Self.done)
        #expect(state.usage == TokenUsage(promptTokens: 9, completionTokens: 3))
    }

    @Test func anEmptyObjectIsFilledIn() {
        let chunk =
            #"data: {"choices":[{"delta":{},"content_filter_offsets":{"check_offset":0,"start_offset":0,"end_offset":11},"index":0}],"id":"chatcmpl-Ble7","object":""}"#
            + "\n\n"
        let (_, output) = run(chunk + Self.done, normalizing: true, forwardUsage: true, split: 40)
        #expect(
            output
                == #"data: {"choices":[{"delta":{},"content_filter_offsets":{"check_offset":0,"start_offset":0,"end_offset":11},"index":0}],"id":"chatcmpl-Ble7","object":"chat.completion.chunk"}"#
                + "\n\n" + Self.done)
    }

    @Test func withoutNormalizingEveryByteStays() {
        let transcript = Self.annotation + Self.rest + Self.usage + Self.done
        let (_, output) = run(transcript, normalizing: false, forwardUsage: true, split: 100)
        #expect(output == transcript)
    }

    @Test func anErrorAfterTheAnnotationIsStillAFailedAttempt() {
        let transcript = Self.annotation + #"data: {"error":{"message":"boom","code":"500"}}"# + "\n\n"
        let (state, output) = run(transcript, normalizing: true, forwardUsage: false, split: 10)
        #expect(output.isEmpty)
        #expect(state.sawError)
        #expect(!state.committed)
    }
}

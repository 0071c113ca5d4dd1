import GatewayCore
import GatewayTesting
import Testing

@testable import Pipeline

/// A target that says the prompt is too long sends the request to the model's `context_fallback`,
/// whatever words the OpenAI-compatible server uses; any other 400 is the caller's and is relayed.
@Suite struct ContextFallbackTests {
    private func harness(_ script: [String: [ScriptedAnswer]]) -> PipelineHarness {
        var configuration = ChatScript.configuration
        configuration.models = [
            ModelConfiguration(
                name: "small", targets: [.init(provider: "primary", model: "llama")], contextFallback: "large"),
            ModelConfiguration(name: "large", targets: [.init(provider: "backup", model: "llama-128k")]),
        ]
        return PipelineHarness(configuration, transport: ScriptedTransport(script))
    }

    @Test(arguments: [
        // OpenAI.
        #"{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#,
        // llama.cpp's server.
        #"{"error":{"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error","n_prompt_tokens":9000,"n_ctx":4096}}"#,
        // vLLM.
        #"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 9000 tokens.","type":"BadRequestError","param":null,"code":400}"#,
    ])
    func aContextErrorGoesToTheContextFallback(body: String) async throws {
        let gateway = harness([
            "http://primary": [.response(status: 400, body: body)], "http://backup": [ChatScript.ok],
        ])
        let reply = await gateway.send(#"{"model":"small","messages":[{"role":"user","content":"long"}]}"#)
        #expect(reply.status == 200)
        #expect(reply.record.attempts.map(\.target) == ["primary/llama", "backup/llama-128k"])
        #expect(reply.record.provider == "backup")
    }

    @Test func anyOther400IsRelayedWithoutFallback() async throws {
        let refusal =
            #"{"error":{"message":"'temperature' must be at most 2","type":"invalid_request_error","param":"temperature","code":null}}"#
        let gateway = harness([
            "http://primary": [.response(status: 400, body: refusal)], "http://backup": [ChatScript.ok],
        ])
        let reply = await gateway.send(#"{"model":"small","messages":[{"role":"user","content":"x"}]}"#)
        #expect(reply.status == 400)
        #expect(reply.body == refusal)
        #expect(gateway.transport.requests.count == 1)
        #expect(reply.record.outcome == .badRequest)
    }
}

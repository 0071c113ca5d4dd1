import Foundation
import GatewayCore
import GatewayTesting
import Pipeline
import Testing

/// The Responses front in process: the stored chain of `previous_response_id` (per caller, sent to
/// translated targets as history and to passthrough targets inline), `GET`/`DELETE`, and failover
/// from a translated target to a passthrough one.
@Suite struct ResponsesFrontTests {
    let gateway: PipelineHarness

    init() {
        var configuration = TranslatedPaths.configuration
        configuration.auth.mode = .keys
        gateway = PipelineHarness(
            configuration, keyring: ProviderKeyring(TranslatedPaths.keys),
            transport: ScriptedTransport(), stores: [.keysAndAdmission, .responses])
    }

    static let anthropicAnswer =
        #"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","#
        + #""content":[{"type":"text","text":"Hello Ada"}],"stop_reason":"end_turn","stop_sequence":null,"#
        + #""usage":{"input_tokens":12,"output_tokens":3}}"#

    static func openAIAnswer(id: String) -> String {
        #"{"id":"\#(id)","object":"response","created_at":1,"status":"completed","model":"gpt-4o-mini","#
            + #""output":[{"id":"msg_9","type":"message","status":"completed","role":"assistant","#
            + #""content":[{"type":"output_text","annotations":[],"logprobs":[],"text":"From OpenAI"}]}],"#
            + #""usage":{"input_tokens":20,"input_tokens_details":{"cached_tokens":0},"output_tokens":2,"#
            + #""output_tokens_details":{"reasoning_tokens":0},"total_tokens":22}}"#
    }

    private func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func aChainContinuesOnlyForItsCallerAndReachesTheProviderAsHistory() async throws {
        let owner = try gateway.makeKey(name: "owner")
        let other = try gateway.makeKey(name: "other")
        gateway.transport.always(.response(body: Array(Self.anthropicAnswer.utf8)), for: "http://claude")
        let first = await gateway.send(
            #"{"model":"claude","input":"My name is Ada.","instructions":"Be kind."}"#, to: "/v1/responses",
            key: owner.text)
        #expect(first.status == 200)
        let firstID = try #require(try json(first.body)["id"] as? String)
        #expect(firstID.hasPrefix("resp_") && firstID.count == 53)

        let stranger = await gateway.send(
            #"{"model":"claude","input":"Who am I?","previous_response_id":"\#(firstID)"}"#, to: "/v1/responses",
            key: other.text)
        #expect(stranger.status == 400)
        let error = try #require(try json(stranger.body)["error"] as? [String: Any])
        #expect(error["code"] as? String == "previous_response_not_found")
        #expect(error["param"] as? String == "previous_response_id")

        let second = await gateway.send(
            #"{"model":"claude","input":"Who am I?","previous_response_id":"\#(firstID)"}"#, to: "/v1/responses",
            key: owner.text)
        #expect(second.status == 200)
        let sent = try json(try #require(gateway.transport.requests.last).bodyText)
        let messages = try #require(sent["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["user", "assistant", "user"])
        #expect(sent["system"] == nil, "instructions are not carried over")
        #expect(try json(second.body)["previous_response_id"] as? String == firstID)

        let fetched = await gateway.send("", to: "/v1/responses/\(firstID)", method: "GET", key: owner.text)
        #expect(fetched.status == 200)
        #expect(fetched.body == first.body)
        let hidden = await gateway.send("", to: "/v1/responses/\(firstID)", method: "GET", key: other.text)
        #expect(hidden.status == 404)
        #expect((try json(hidden.body)["error"] as? [String: Any])?["code"] is NSNull)
        let deleted = await gateway.send("", to: "/v1/responses/\(firstID)", method: "DELETE", key: owner.text)
        #expect(deleted.status == 200)
        #expect(try json(deleted.body)["object"] as? String == "response.deleted")
        let gone = await gateway.send("", to: "/v1/responses/\(firstID)", method: "GET", key: owner.text)
        #expect(gone.status == 404)
    }

    @Test func aPassthroughTargetGetsAStoredChainInline() async throws {
        let key = try gateway.makeKey()
        gateway.transport.always(.response(body: Array(Self.anthropicAnswer.utf8)), for: "http://claude")
        gateway.transport.always(
            .response(body: Array(Self.openAIAnswer(id: "resp_openai1").utf8)), for: "http://openai")
        let first = await gateway.send(#"{"model":"claude","input":"Hi"}"#, to: "/v1/responses", key: key.text)
        let firstID = try #require(try json(first.body)["id"] as? String)

        let second = await gateway.send(
            #"{"model":"smart","input":[{"role":"user","content":"Again"}],"previous_response_id":"\#(firstID)"}"#,
            to: "/v1/responses", key: key.text)
        #expect(second.status == 200)
        #expect(second.body == Self.openAIAnswer(id: "resp_openai1"), "passed through byte for byte")
        let sent = try #require(gateway.transport.requests.last)
        #expect(sent.url == "http://openai/v1/responses")
        let body = try json(sent.bodyText)
        #expect(body["previous_response_id"] is NSNull)
        let input = try #require(body["input"] as? [[String: Any]])
        #expect(input.count == 3)
        #expect(input[1]["type"] as? String == "message")
        #expect(body["model"] as? String == "gpt-4o-mini")
        #expect(second.record.usage?.promptTokens == 20)

        // The passed-through answer is stored under OpenAI's id: the chain goes on anywhere.
        let third = await gateway.send(
            #"{"model":"claude","input":"And now?","previous_response_id":"resp_openai1"}"#, to: "/v1/responses",
            key: key.text)
        #expect(third.status == 200)
        let lastSent = try #require(gateway.transport.requests.last)
        let messages = try #require(try json(lastSent.bodyText)["messages"] as? [Any])
        #expect(messages.count == 5)
    }

    @Test func aChainLlmgwDoesNotHaveIsPassedThroughToAResponsesProvider() async throws {
        let key = try gateway.makeKey()
        gateway.transport.always(.response(body: Array(Self.openAIAnswer(id: "resp_2").utf8)), for: "http://openai")
        let reply = await gateway.send(
            #"{"model":"smart","input":"Hi","previous_response_id":"resp_from_openai"}"#, to: "/v1/responses",
            key: key.text)
        #expect(reply.status == 200)
        let body = try json(try #require(gateway.transport.requests.last).bodyText)
        #expect(body["previous_response_id"] as? String == "resp_from_openai")
        #expect(body["input"] as? String == "Hi")
    }

    @Test func storeFalseIsNotKept() async throws {
        let key = try gateway.makeKey()
        gateway.transport.always(.response(body: Array(Self.anthropicAnswer.utf8)), for: "http://claude")
        let reply = await gateway.send(
            #"{"model":"claude","input":"Hi","store":false}"#, to: "/v1/responses", key: key.text)
        let id = try #require(try json(reply.body)["id"] as? String)
        #expect(try json(reply.body)["store"] as? Bool == false)
        let fetched = await gateway.send("", to: "/v1/responses/\(id)", method: "GET", key: key.text)
        #expect(fetched.status == 404)
    }

    @Test func aFailedTranslatedTargetFailsOverToThePassthroughOne() async throws {
        let key = try gateway.makeKey()
        gateway.transport.always(
            .response(
                status: 529,
                body: Array(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.utf8)),
            for: "http://claude")
        gateway.transport.always(.response(body: Array(Self.openAIAnswer(id: "resp_3").utf8)), for: "http://openai")
        let reply = await gateway.send(#"{"model":"claude-first","input":"Hi"}"#, to: "/v1/responses", key: key.text)
        #expect(reply.status == 200)
        // 529 is retried on the same target (the retry policy), then the next target answers.
        #expect(reply.record.attempts.map(\.status).last == 200)
        #expect(reply.record.attempts.dropLast().allSatisfy { $0.status == 529 })
        #expect(reply.record.provider == "openai")
        #expect(try json(reply.body)["id"] as? String == "resp_3")
    }

    @Test func otherMethodsAndMalformedBodiesAreRefused() async throws {
        let key = try gateway.makeKey()
        let put = await gateway.send("{}", to: "/v1/responses", method: "PUT", key: key.text)
        #expect(put.status == 405)
        let empty = await gateway.send(#"{"model":"claude","input":""}"#, to: "/v1/responses", key: key.text)
        #expect(empty.status == 400)
        #expect((try json(empty.body)["error"] as? [String: Any])?["param"] as? String == "input")
        let patch = await gateway.send("", to: "/v1/responses/resp_1", method: "PATCH", key: key.text)
        #expect(patch.status == 405)
    }
}

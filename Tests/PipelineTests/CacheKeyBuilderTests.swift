import GatewayCore
import Testing

@testable import Pipeline

@Suite struct CacheKeyBuilderTests {
    /// A member and two different raw values for it.
    struct Variation: Sendable, CustomTestStringConvertible {
        let name: String
        let first: String
        let second: String

        init(_ name: String, _ first: String, _ second: String) {
            self.name = name
            self.first = first
            self.second = second
        }

        var testDescription: String { name }
    }

    private static let baseMembers: [(String, String)] = [
        ("model", #""gpt-4o""#),
        ("messages", #"[{"role":"user","content":"hi"}]"#),
    ]

    /// `{"name":value,…}` from raw member values.
    private static func body(_ members: [(String, String)]) -> [UInt8] {
        Array(("{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}").utf8)
    }

    /// The base request with `name` set to `value` (replacing it if present), or removed when nil.
    private static func body(setting name: String, to value: String?) -> [UInt8] {
        var members = baseMembers.filter { $0.0 != name }
        if let value { members.append((name, value)) }
        return body(members)
    }

    private static func key(
        _ body: [UInt8], namespace: String = "team-a", model: String = "fast", endpoint: String = "/v1/chat/completions"
    ) -> CacheKey? {
        CacheKeyBuilder.key(namespace: namespace, model: model, endpoint: endpoint, body: body)
    }

    static let keyedMembers: [Variation] = [
        .init("messages", #"[{"role":"user","content":"hi"}]"#, #"[{"role":"user","content":"hello"}]"#),
        .init(
            "tools", #"[{"type":"function","function":{"name":"a"}}]"#,
            #"[{"type":"function","function":{"name":"b"}}]"#),
        .init("tool_choice", #""auto""#, #""none""#),
        .init("parallel_tool_calls", "true", "false"),
        .init("functions", #"[{"name":"a"}]"#, #"[{"name":"b"}]"#),
        .init("function_call", #""auto""#, #""none""#),
        .init("response_format", #"{"type":"text"}"#, #"{"type":"json_object"}"#),
        .init("temperature", "0.2", "0.3"),
        .init("top_p", "1", "0.9"),
        .init("n", "1", "2"),
        .init("stop", #""\n""#, #"["END"]"#),
        .init("max_tokens", "10", "11"),
        .init("max_completion_tokens", "10", "11"),
        .init("presence_penalty", "0", "0.5"),
        .init("frequency_penalty", "0", "0.5"),
        .init("logit_bias", #"{"50256":-100}"#, "{}"),
        .init("logprobs", "true", "false"),
        .init("top_logprobs", "1", "2"),
        .init("seed", "1", "2"),
        .init("reasoning_effort", #""low""#, #""high""#),
        .init("modalities", #"["text"]"#, #"["text","audio"]"#),
        .init("audio", #"{"voice":"alloy","format":"wav"}"#, #"{"voice":"echo","format":"wav"}"#),
        .init("prediction", #"{"type":"content","content":"a"}"#, #"{"type":"content","content":"b"}"#),
        .init("input", #""a""#, #"["a"]"#),
        .init("dimensions", "256", "512"),
        .init("encoding_format", #""float""#, #""base64""#),
        .init("stream", "true", "false"),
        .init("stream_options", #"{"include_usage":true}"#, #"{"include_usage":false}"#),
        // Not named anywhere: unknown members are hashed generically.
        .init("some_future_parameter", "1", "2"),
    ]

    static let ignoredMembers: [Variation] = [
        .init("model", #""gpt-4o""#, #""gpt-4o-mini""#),
        .init("user", #""alice""#, #""bob""#),
        .init("safety_identifier", #""a1""#, #""b2""#),
        .init("metadata", #"{"run":"1"}"#, #"{"run":"2"}"#),
        .init("store", "true", "false"),
        .init("service_tier", #""auto""#, #""flex""#),
        .init("prompt_cache_key", #""x""#, #""y""#),
    ]

    @Test(arguments: keyedMembers) func aKeyedMemberChangesTheKey(_ member: Variation) throws {
        let first = try #require(Self.key(Self.body(setting: member.name, to: member.first)))
        let second = try #require(Self.key(Self.body(setting: member.name, to: member.second)))
        let absent = try #require(Self.key(Self.body(setting: member.name, to: nil)))
        #expect(first != second)
        #expect(first != absent)
        #expect(second != absent)
    }

    @Test(arguments: ignoredMembers) func anIgnoredMemberLeavesTheKeyAlone(_ member: Variation) throws {
        let first = try #require(Self.key(Self.body(setting: member.name, to: member.first)))
        #expect(Self.key(Self.body(setting: member.name, to: member.second)) == first)
        #expect(Self.key(Self.body(setting: member.name, to: nil)) == first)
    }

    @Test func everyNamedAndExcludedMemberIsCovered() {
        #expect(Set(CacheKeyBuilder.namedMembers).isSubset(of: Set(Self.keyedMembers.map(\.name))))
        #expect(CacheKeyBuilder.excludedMembers == Set(Self.ignoredMembers.map(\.name)))
        #expect(CacheKeyBuilder.excludedMembers.isDisjoint(with: CacheKeyBuilder.namedMembers))
    }

    @Test func theSameInputGivesTheSameKey() throws {
        let body = Self.body(Self.baseMembers + [("temperature", "0.2"), ("tools", "[]")])
        let key = try #require(Self.key(body))
        #expect(Self.key(body) == key)
        #expect(Self.key(Array(body)) == key)
        // Pinned: a change to the derivation must bump `formatVersion`.
        #expect(key.description == "d082f7e9b7c9")
    }

    @Test func theNamespaceChangesTheKey() {
        let body = Self.body(Self.baseMembers)
        #expect(Self.key(body, namespace: "team-a") != Self.key(body, namespace: "shared"))
    }

    @Test func theModelAliasChangesTheKey() {
        let body = Self.body(Self.baseMembers)
        #expect(Self.key(body, model: "fast") != Self.key(body, model: "smart"))
    }

    @Test func theEndpointChangesTheKey() {
        let body = Self.body(Self.baseMembers)
        #expect(Self.key(body, endpoint: "/v1/chat/completions") != Self.key(body, endpoint: "/v1/completions"))
    }

    @Test func materialIsLengthPrefixed() {
        let body = Self.body(Self.baseMembers)
        #expect(Self.key(body, namespace: "ab", endpoint: "c") != Self.key(body, namespace: "a", endpoint: "bc"))
    }

    @Test func memberOrderAndSpacingBetweenMembersDoNotMatter() {
        let members = Self.baseMembers + [("temperature", "0.2"), ("zeta", "1"), ("alpha", "2")]
        let spaced = Array(
            "{ \"alpha\" : 2 ,\n\t\"temperature\":0.2, \"zeta\":1,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"
                .utf8)
        #expect(Self.key(Self.body(members)) == Self.key(Self.body(members.reversed())))
        #expect(Self.key(Self.body(members)) == Self.key(spaced))
    }

    @Test func spacingInsideAValueChangesTheKey() {
        let compact = Self.body(setting: "messages", to: #"[{"role":"user","content":"hi"}]"#)
        let spaced = Self.body(setting: "messages", to: #"[{"role": "user", "content": "hi"}]"#)
        #expect(Self.key(compact) != Self.key(spaced))
    }

    @Test func aDuplicateMemberCountsWithItsLastValue() {
        let duplicated = Self.body(Self.baseMembers + [("temperature", "0.1"), ("temperature", "0.2")])
        #expect(Self.key(duplicated) == Self.key(Self.body(Self.baseMembers + [("temperature", "0.2")])))
    }

    @Test(arguments: ["", "[]", "\"text\"", "{\"a\":}", "{} {}", "not json"])
    func aBodyThatIsNotAnObjectHasNoKey(_ body: String) {
        #expect(Self.key(Array(body.utf8)) == nil)
    }

    @Test func anEmptyObjectHasAKey() {
        #expect(Self.key(Array("{}".utf8)) != nil)
    }
}

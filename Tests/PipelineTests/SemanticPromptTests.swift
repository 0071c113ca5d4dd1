import GatewayCore
import Testing

@testable import Pipeline

/// What the semantic cache embeds and which requests share a namespace.
@Suite struct SemanticPromptTests {
    static func prompt(
        _ body: String, embed: SemanticCacheConfiguration.Embed = .lastUser, caller: String = "key:alice",
        model: String = "smart"
    ) -> SemanticPrompt? {
        SemanticPrompt(
            body: Array(body.utf8), embed: embed, namespace: caller, model: model, endpoint: "/v1/chat/completions",
            headers: ["", ""])
    }

    static func chat(_ text: String, system: String? = nil, extra: String = "") -> String {
        let system = system.map { #"{"role":"system","content":"\#($0)"},"# } ?? ""
        return #"{"model":"smart","messages":[\#(system){"role":"user","content":"\#(text)"}]\#(extra)}"#
    }

    @Test func lastUserEmbedsTheLastUserTextAndKeepsTheRestInTheNamespace() throws {
        let one = try #require(Self.prompt(Self.chat("What is the capital of France?", system: "Be brief.")))
        let two = try #require(Self.prompt(Self.chat("Which city is France's capital?", system: "Be brief.")))
        #expect(one.text == "What is the capital of France?")
        #expect(one.namespace == two.namespace)
        let parts =
            #"{"model":"smart","messages":[{"role":"system","content":"Be brief."},"#
            + #"{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}]}"#
        let fromParts = try #require(Self.prompt(parts))
        #expect(fromParts.text == "a\nb")
        #expect(fromParts.namespace == one.namespace)
    }

    @Test func everythingButTheEmbeddedTextSeparatesNamespaces() throws {
        let base = try #require(Self.prompt(Self.chat("hello", system: "A"))).namespace
        let others = [
            Self.prompt(Self.chat("hello", system: "B")),
            Self.prompt(Self.chat("hello")),
            Self.prompt(Self.chat("hello", system: "A", extra: #","temperature":0.7"#)),
            Self.prompt(Self.chat("hello", system: "A", extra: #","tools":[{"type":"function"}]"#)),
            Self.prompt(Self.chat("hello", system: "A", extra: #","stream":true"#)),
            Self.prompt(Self.chat("hello", system: "A", extra: #","response_format":{"type":"json_object"}"#)),
            Self.prompt(Self.chat("hello", system: "A"), caller: "key:bob"),
            Self.prompt(Self.chat("hello", system: "A"), model: "other"),
        ]
        for other in others { #expect(try #require(other).namespace != base) }
        // What the exact cache key leaves out leaves the namespace alone too.
        #expect(Self.prompt(Self.chat("hello", system: "A", extra: #","user":"u-1""#))?.namespace == base)
    }

    @Test func conversationEmbedsEveryTurnAndSkipsNonTextParts() throws {
        let body =
            #"{"model":"smart","messages":[{"role":"system","content":"S"},"#
            + #"{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},"#
            + #"{"role":"user","content":"how are you"}]}"#
        #expect(Self.prompt(body, embed: .conversation)?.text == "user: hi\nassistant: hello\nuser: how are you")
        #expect(Self.prompt(body)?.text == "how are you")
        // Earlier turns are namespace under last_user.
        let shorter =
            #"{"model":"smart","messages":[{"role":"system","content":"S"},"#
            + #"{"role":"user","content":"how are you"}]}"#
        #expect(Self.prompt(body)?.namespace != Self.prompt(shorter)?.namespace)
        let image =
            #"{"model":"smart","messages":[{"role":"user","content":[{"type":"text","text":"what is this"},"#
            + #"{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}"#
        #expect(Self.prompt(image) == nil)
        #expect(Self.prompt(#"{"model":"smart","messages":[{"role":"system","content":"S"}]}"#) == nil)
        #expect(Self.prompt("not json") == nil)
    }

    @Test func anAnthropicSystemMemberIsNamespace() throws {
        func messages(_ system: String, _ text: String) -> SemanticPrompt? {
            SemanticPrompt(
                body: Array(
                    (#"{"model":"smart","max_tokens":64,"system":"\#(system)","#
                        + #""messages":[{"role":"user","content":[{"type":"text","text":"\#(text)"}]}]}"#).utf8),
                embed: .lastUser, namespace: "key:alice", model: "smart", endpoint: "/v1/messages", headers: ["", ""])
        }
        let one = try #require(messages("A", "hello there"))
        #expect(one.text == "hello there")
        #expect(messages("A", "hi there")?.namespace == one.namespace)
        #expect(messages("B", "hello there")?.namespace != one.namespace)
    }

    @Test func similarityHeaderHasTwoDecimalsRoundedDown() {
        #expect(CacheStage.format(0.979) == "0.97")
        #expect(CacheStage.format(0.05) == "0.05")
        #expect(CacheStage.format(0.9999) == "0.99")
        #expect(CacheStage.format(1.0001) == "1.00")
    }
}

import GatewayCore
import Testing

@testable import Dialects

/// `auto_cache_control`: breakpoints on the last system block and the last tool, only when the
/// body sets none of its own.
@Suite struct AnthropicPromptCacheTests {
    private func marked(_ json: String) -> String {
        String(decoding: AnthropicPromptCache.markingBreakpoints(Array(json.utf8)), as: UTF8.self)
    }

    @Test func aStringSystemBecomesABlockAndTheLastToolIsMarked() {
        #expect(
            marked(
                #"{"model":"c","system":"Be terse.","tools":[{"name":"a","input_schema":{}},{"name":"b","input_schema":{}}],"#
                    + #""messages":[{"role":"user","content":"hi"}],"max_tokens":5}"#)
                == #"{"model":"c","system":[{"type":"text","text":"Be terse.","cache_control":{"type":"ephemeral"}}],"#
                + #""tools":[{"name":"a","input_schema":{}},{"name":"b","input_schema":{},"#
                + #""cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}],"max_tokens":5}"#
        )
    }

    @Test func theLastSystemBlockIsMarked() {
        #expect(
            marked(#"{"system":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"messages":[]}"#)
                == #"{"system":[{"type":"text","text":"a"},{"type":"text","text":"b","#
                + #""cache_control":{"type":"ephemeral"}}],"messages":[]}"#)
    }

    @Test func aBodyWithItsOwnBreakpointsOrNothingToMarkIsUnchanged() {
        let own =
            #"{"system":"x","messages":[{"role":"user","content":[{"type":"text","text":"hi","#
            + #""cache_control":{"type":"ephemeral"}}]}]}"#
        #expect(marked(own) == own)
        let plain = #"{"model":"c", "messages":[{"role":"user","content":"hi"}]}"#
        #expect(marked(plain) == plain)
        #expect(marked("not json") == "not json")
    }
}

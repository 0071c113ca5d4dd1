import GatewayCore
import Testing

@testable import Pipeline

@Suite struct AccessRecordTests {
    @Test func rendersTheDesignFieldsInOrder() {
        var record = AccessRecord(requestID: "r1", caller: "peer:uid=1000", route: "/v1/chat/completions")
        record.model = "smart"
        record.provider = "openai"
        record.upstreamModel = "gpt-4o"
        record.status = 200
        record.stream = true
        record.attempts = [AttemptRecord(target: "openai/gpt-4o", status: 200, error: nil, milliseconds: 812.44)]
        record.latencyMilliseconds = 815.25
        record.ttfbMilliseconds = 240.1
        record.overheadMicroseconds = 45
        record.usage = TokenUsage(promptTokens: 57, completionTokens: 17)
        let line = String(decoding: record.jsonLine(timestamp: "2026-11-21T16:00:00.123Z"), as: UTF8.self)
        #expect(
            line == #"{"ts":"2026-11-21T16:00:00.123Z","level":"info","msg":"request","request_id":"r1","#
                + #""caller":"peer:uid=1000","route":"/v1/chat/completions","model":"smart","provider":"openai","#
                + #""upstream_model":"gpt-4o","status":200,"outcome":"ok","stream":true,"cache":"bypass","#
                + #""attempts":[{"target":"openai/gpt-4o","status":200,"ms":812.4}],"latency_ms":815.3,"#
                + #""ttfb_ms":240.1,"overhead_us":45,"prompt_tokens":57,"completion_tokens":17,"cost_usd":null}"#
        )
    }

    @Test func acceptsOnlyPrintableClientRequestIDs() {
        #expect(RequestID.accept("abc-123") == "abc-123")
        #expect(RequestID.accept("has space") == nil)
        #expect(RequestID.accept(String(repeating: "x", count: 200)) == nil)
        #expect(RequestID.accept("quote\"") == nil)
        #expect(RequestID.generate(SystemRandomSource()).hasPrefix("req_"))
        #expect(RequestID.generate(SystemRandomSource()).count == 36)
    }
}

import Pipeline
import Testing

@Suite struct LogLineFormatterTests {
    static let ok = #"""
        {"ts":"2026-11-21T16:00:00.123Z","level":"info","msg":"request","request_id":"r1","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","caller":"key:abc123","route":"/v1/chat/completions","model":"smart","provider":"openai","upstream_model":"gpt-4o","status":200,"outcome":"ok","stream":true,"cache":"miss","attempts":[{"target":"openai/gpt-4o","status":200,"ms":812.4}],"latency_ms":815.2,"ttfb_ms":240.1,"overhead_us":45,"prompt_tokens":57,"completion_tokens":17,"cost_usd":0.000312}
        """#
    static let failed = #"""
        {"ts":"2026-11-21T16:00:01.000Z","level":"error","msg":"request","request_id":"r2","trace_id":"0af7651916cd43dd8448eb211c80319c","caller":"peer:uid=1000","route":"/v1/chat/completions","model":"fast","provider":null,"upstream_model":null,"status":502,"outcome":"upstream_error","stream":false,"cache":"bypass","attempts":[{"target":"a/x","status":503,"error":"HTTP 503","ms":3.0}],"latency_ms":4.0,"ttfb_ms":null,"overhead_us":9,"prompt_tokens":null,"completion_tokens":null,"cost_usd":null,"error":"all targets failed"}
        """#
    static let hit = #"""
        {"ts":"2026-11-21T16:00:02.000Z","level":"info","msg":"request","request_id":"r3","caller":"key:def456","route":"/v1/chat/completions","model":"smart","provider":"openai","upstream_model":"gpt-4o","status":200,"outcome":"cache_hit","stream":false,"cache":"hit","attempts":[],"latency_ms":0.4,"ttfb_ms":0.3,"overhead_us":300,"prompt_tokens":57,"completion_tokens":17,"cost_usd":0.0}
        """#
    static let starting = #"""
        {"ts":"2026-11-21T15:59:59.000Z","level":"info","msg":"starting","logger":"llmgw","config":"/etc/llmgw/llmgw.yaml","models":"3"}
        """#
    static let warning = #"""
        {"ts":"2026-11-21T16:00:03.000Z","level":"warning","msg":"log lines dropped","logger":"llmgw.log","dropped":4,"dropped_total":9}
        """#

    private func render(_ line: String, _ filter: LogLineFilter = LogLineFilter(), color: Bool = false) -> String? {
        LogLineFormatter(color: color, filter: filter).render(Array(line.utf8))
    }

    @Test func anAccessLineBecomesOneReadableLine() {
        #expect(
            render(Self.ok)
                == "16:00:00.123 200 ok              /v1/chat/completions smart → openai/gpt-4o 815.2ms 57→17 tok "
                + "$0.000312 cache=miss key:abc123 trace=4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test func aFailedRequestShowsItsError() {
        #expect(
            render(Self.failed)
                == "16:00:01.000 502 upstream_error  /v1/chat/completions fast 4.0ms peer:uid=1000 "
                + #"trace=0af7651916cd43dd8448eb211c80319c error="all targets failed""#)
    }

    @Test func anOperationalLineIsCompact() {
        #expect(
            render(Self.starting)
                == #"15:59:59.000 INFO    llmgw: starting config=/etc/llmgw/llmgw.yaml models=3"#)
        #expect(render(Self.warning) == "16:00:03.000 WARNING llmgw.log: log lines dropped dropped=4 dropped_total=9")
    }

    @Test func malformedLinesPassThroughUnchanged() {
        for line in ["not json at all", #"{"truncated":"#, "[1,2]", #"{"no_msg":true}"#, ""] {
            #expect(render(line) == line)
            #expect(render(line, LogLineFilter(errorsOnly: true, model: "x")) == line)
        }
    }

    @Test func errorsKeepsFailuresAndWarnings() {
        let filter = LogLineFilter(errorsOnly: true)
        #expect(render(Self.ok, filter) == nil)
        #expect(render(Self.hit, filter) == nil, "a cache hit is a success")
        #expect(render(Self.failed, filter) != nil)
        #expect(render(Self.starting, filter) == nil)
        #expect(render(Self.warning, filter) != nil)
        let ok499 = Self.ok.replacing(#""status":200,"outcome":"ok""#, with: #""status":499,"outcome":"client_closed""#)
        #expect(render(ok499, filter) != nil)
    }

    @Test func modelAndCallerSelectAccessLinesOnly() {
        let smart = LogLineFilter(model: "smart")
        #expect(render(Self.ok, smart) != nil)
        #expect(render(Self.failed, smart) == nil)
        #expect(render(Self.starting, smart) == nil)
        #expect(render(Self.ok, LogLineFilter(model: "gpt-4o")) != nil, "the provider's model matches too")
        #expect(render(Self.ok, LogLineFilter(caller: "key:abc123")) != nil)
        #expect(render(Self.ok, LogLineFilter(caller: "abc123")) != nil)
        #expect(render(Self.hit, LogLineFilter(caller: "abc123")) == nil)
        #expect(render(Self.failed, LogLineFilter(caller: "uid=1000")) != nil)
        #expect(render(Self.starting, LogLineFilter(accessOnly: true)) == nil)
        #expect(render(Self.ok, LogLineFilter(accessOnly: true)) != nil)
    }

    @Test func colourMarksStatusAndOutcome() throws {
        let green = "\u{1B}[32m"
        let red = "\u{1B}[31m"
        let ok = try #require(render(Self.ok, color: true))
        #expect(ok.contains(green + "200\u{1B}[0m"))
        #expect(ok.contains(green + "ok "))
        let failed = try #require(render(Self.failed, color: true))
        #expect(failed.contains(red + "502\u{1B}[0m"))
        #expect(failed.contains(red + "upstream_error"))
        #expect(render(Self.hit, color: true)?.contains("\u{1B}[36mcache_hit") == true)
        #expect(render(Self.ok)?.contains("\u{1B}") == false)
    }

    @Test func controlCharactersInValuesNeverReachTheTerminal() throws {
        let hostile = Self.ok.replacing(#""model":"smart""#, with: #""model":"\u001b]0;owned\u0007smart""#)
        let line = try #require(render(hostile))
        #expect(!line.contains("\u{1B}") && !line.contains("\u{07}"))
        #expect(line.contains("?]0;owned?smart → openai/gpt-4o"))
    }
}

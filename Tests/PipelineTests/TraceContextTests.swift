import GatewayCore
import GatewayTesting
import Synchronization
import Testing

@testable import Pipeline

@Suite struct TraceContextTests {
    static let clientParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    static let chat = #"{"model":"smart","messages":[{"role":"user","content":"x"}]}"#

    private func request(_ headers: [(name: String, value: String)]) -> GatewayRequest {
        GatewayRequest(method: "POST", path: "/v1/chat/completions", headers: headers, body: [])
    }

    @Test func aValidTraceparentIsContinued() {
        let trace = TraceContext(
            request: request([("traceparent", Self.clientParent), ("tracestate", "congo=t61rcWkgMzE")]),
            random: SystemRandomSource())
        #expect(trace.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(trace.parentID == "00f067aa0ba902b7")
        #expect(trace.flags == "01")
        let headers = trace.headers(span: "b7ad6b7169203331")
        #expect(headers.map(\.name) == ["traceparent", "tracestate"])
        #expect(headers[0].value == "00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-01")
        #expect(headers[1].value == "congo=t61rcWkgMzE")
    }

    @Test(arguments: [
        "",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",  // no flags
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // all-zero trace id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // all-zero parent id
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // upper case
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  // version 00 is exactly 55
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
    ])
    func anInvalidTraceparentStartsANewTrace(value: String) {
        #expect(TraceContext.parse(traceparent: value) == nil)
        let trace = TraceContext(
            request: request([("traceparent", value), ("tracestate", "a=b")]), random: SystemRandomSource())
        #expect(trace.parentID == nil)
        #expect(trace.state == nil, "a tracestate without a valid traceparent is dropped")
        #expect(Self.isTraceID(trace.traceID))
        #expect(trace.traceID != "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test func aLaterVersionIsReadAsVersion00() {
        let parsed = TraceContext.parse(traceparent: "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what")
        #expect(parsed?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(TraceContext.parse(traceparent: "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x") == nil)
    }

    @Test func twoTraceparentsAreInvalid() {
        let trace = TraceContext(
            request: request([("traceparent", Self.clientParent), ("traceparent", Self.clientParent)]),
            random: SystemRandomSource())
        #expect(trace.parentID == nil)
        #expect(trace.traceID != "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test func generatedIDsAreLowercaseHexAndNeverZero() {
        struct Zeros: RandomSource {
            let calls = Counter()
            func next() -> UInt64 { calls.bump() < 4 ? 0 : 0xab }
        }
        let trace = TraceContext(request: request([]), random: Zeros())
        #expect(trace.traceID == "000000000000000000000000000000ab")
        #expect(Self.isTraceID(trace.traceID))
        #expect(trace.flags == "01")
        let span = TraceContext.newSpanID()
        #expect(span.count == 16 && span.utf8.allSatisfy { Self.hexDigits.contains($0) })
    }

    @Test func theProviderGetsTheClientsTraceOnEveryAttemptWithItsOwnSpan() async throws {
        let busy = ScriptedAnswer.response(status: 503, body: #"{"error":{"message":"busy"}}"#)
        let gateway = PipelineHarness(
            ChatScript.configuration,
            transport: ScriptedTransport(["http://primary": [busy, busy], "http://backup": [ChatScript.ok]]))
        let reply = await gateway.send(
            Self.chat,
            headers: [
                ("content-type", "application/json"), ("traceparent", Self.clientParent), ("tracestate", "k=v"),
            ])
        #expect(reply.status == 200)
        #expect(reply.record.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        let sent = gateway.transport.requests
        #expect(sent.count == 3)
        let parents = sent.compactMap { request in request.headers.first { $0.name == "traceparent" }?.value }
        #expect(parents.count == 3)
        var spans: Set<String> = []
        for parent in parents {
            let parsed = try #require(TraceContext.parse(traceparent: parent))
            #expect(parsed.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
            #expect(parsed.parentID != "00f067aa0ba902b7", "each attempt is a span of its own")
            spans.insert(parsed.parentID)
        }
        #expect(spans.count == 3)
        #expect(sent.allSatisfy { $0.headers.contains { $0.name == "tracestate" && $0.value == "k=v" } })
        let line = String(decoding: reply.record.jsonLine(timestamp: "t"), as: UTF8.self)
        #expect(line.contains(#""trace_id":"4bf92f3577b34da6a3ce929d0e0e4736""#))
    }

    @Test func anInvalidTraceparentIsReplacedInTheLogAndUpstream() async throws {
        let gateway = PipelineHarness(
            ChatScript.configuration, transport: ScriptedTransport(["http://primary": [ChatScript.ok]]))
        let reply = await gateway.send(
            Self.chat, headers: [("content-type", "application/json"), ("traceparent", "00-zz-zz-01")])
        let traceID = try #require(reply.record.traceID)
        #expect(Self.isTraceID(traceID))
        let sent = try #require(gateway.transport.requests.first)
        let parent = try #require(sent.headers.first { $0.name == "traceparent" }?.value)
        #expect(TraceContext.parse(traceparent: parent)?.traceID == traceID)
        #expect(!sent.headers.contains { $0.name == "tracestate" })
    }

    static let hexDigits = Set("0123456789abcdef".utf8)

    static func isTraceID(_ text: String) -> Bool {
        text.utf8.count == 32 && text.utf8.allSatisfy { hexDigits.contains($0) } && text.contains { $0 != "0" }
    }
}

private final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func bump() -> Int { value.add(1, ordering: .relaxed).newValue }
}

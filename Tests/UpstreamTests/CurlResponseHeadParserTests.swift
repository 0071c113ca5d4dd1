import Testing

@testable import Upstream

@Suite struct CurlResponseHeadParserTests {
    private func feed(_ lines: [String]) -> (CurlResponseHeadParser, [CurlResponseHeadParser.Event]) {
        var parser = CurlResponseHeadParser()
        var events: [CurlResponseHeadParser.Event] = []
        for line in lines {
            let bytes = Array(line.utf8)
            events.append(bytes.withUnsafeBytes { parser.parse(line: $0) })
        }
        return (parser, events)
    }

    @Test func finalHeadAfterInformationalOnes() {
        let (parser, events) = feed([
            "HTTP/1.1 100 Continue\r\n", "\r\n",
            "HTTP/1.1 103 Early Hints\r\n", "Link: </a>\r\n", "\r\n",
            "HTTP/1.1 200 OK\r\n", "Content-Type: text/event-stream\r\n", "X-Folded: a\r\n", "\t b\r\n",
            "X-Empty:\r\n", "\r\n",
        ])
        #expect(events.last == .complete)
        #expect(events.dropLast().allSatisfy { $0 == .needMore })
        #expect(parser.status == 200)
        #expect(parser.headers.map(\.name) == ["content-type", "x-folded", "x-empty"])
        #expect(parser.headers.map(\.value) == ["text/event-stream", "a b", ""])
    }

    @Test func http2StatusLine() {
        let (parser, events) = feed(["HTTP/2 429 \r\n", "retry-after: 3\r\n", "\r\n"])
        #expect(events.last == .complete)
        #expect(parser.status == 429)
        #expect(parser.headers.first?.value == "3")
    }
}

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

    @Test func tooManyHeadersStopTheParser() {
        var lines = ["HTTP/1.1 200 OK\r\n"]
        lines += (0..<CurlResponseHeadParser.defaultMaximumHeaderCount).map { "x-h\($0): v\r\n" }
        let (_, events) = feed(lines)
        #expect(events.allSatisfy { $0 == .needMore })
        let (_, more) = feed(lines + ["x-one-more: v\r\n"])
        #expect(more.last == .tooLarge)
    }

    @Test func anEndlessHeadStopsTheParserAtItsByteCap() {
        var parser = CurlResponseHeadParser(maximumBytes: 4096, maximumHeaderCount: 1_000_000)
        let status = Array("HTTP/1.1 200 OK\r\n".utf8)
        #expect(status.withUnsafeBytes { parser.parse(line: $0) } == .needMore)
        var last = CurlResponseHeadParser.Event.needMore
        var sent = status.count
        while last == .needMore && sent < 100_000 {
            // Endless folded continuation lines grow one value; they count against the cap too.
            let line = Array((sent % 2 == 0 ? "x-a: b\r\n" : " more\r\n").utf8)
            last = line.withUnsafeBytes { parser.parse(line: $0) }
            sent += line.count
        }
        #expect(last == .tooLarge)
        #expect(sent <= 4096 + 16)
    }

    @Test func informationalHeadsCountAgainstTheByteCap() {
        var parser = CurlResponseHeadParser(maximumBytes: 1024)
        var last = CurlResponseHeadParser.Event.needMore
        for _ in 0..<1000 where last == .needMore {
            for line in ["HTTP/1.1 100 Continue\r\n", "\r\n"] {
                last = Array(line.utf8).withUnsafeBytes { parser.parse(line: $0) }
            }
        }
        #expect(last == .tooLarge)
    }

    @Test func statusLineDigitsNeverOverflow() {
        let (parser, events) = feed(["HTTP/1.1 99999999999999999999999 OK\r\n", "\r\n"])
        #expect(parser.status == nil)
        #expect(events.last == .needMore)
    }
}

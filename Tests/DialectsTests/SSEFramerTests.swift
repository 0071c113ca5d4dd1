import Testing

@testable import Dialects

@Suite struct SSEFramerTests {
    @Test func framesTheWireTranscriptWhateverTheChunking() throws {
        let transcript = try Fixture.bytes("openai/stream_text.sse")
        for chunkSize in [1, 2, 3, 7, 64, transcript.count] {
            var framer = SSEFramer()
            var events: [SSEEvent] = []
            var offset = 0
            while offset < transcript.count {
                let end = min(offset + chunkSize, transcript.count)
                events += framer.push(Array(transcript[offset..<end]))
                offset = end
            }
            #expect(events.count == 6, "chunk size \(chunkSize)")
            #expect(events.flatMap(\.raw) == transcript, "raw bytes are preserved, chunk size \(chunkSize)")
            #expect(events.last?.isDone == true)
            #expect(framer.finish().isEmpty)
        }
    }

    @Test func handlesCRLFAndCRLineEndings() {
        var framer = SSEFramer()
        // A CR that ends the input may be half of a CRLF: the event is framed once the next byte shows it.
        var events = framer.push(Array("event: ping\r\ndata: {\"a\":1}\r\n\r\ndata: x\rdata: y\r\r".utf8))
        #expect(events.count == 1)
        events += framer.push(Array(": next\n".utf8))
        #expect(events.count == 2)
        #expect(events[0].name == "ping")
        #expect(events[0].data.text == "{\"a\":1}")
        #expect(events[1].data.text == "x\ny")
    }

    @Test func waitsWhenACarriageReturnEndsTheChunk() {
        var framer = SSEFramer()
        #expect(framer.push(Array("data: a\r\n\r".utf8)).isEmpty)
        let events = framer.push(Array("\n".utf8))
        #expect(events.count == 1)
        #expect(events[0].raw.text == "data: a\r\n\r\n")
    }

    @Test func keepsCommentsInRawAndReturnsLeftoversOnFinish() {
        var framer = SSEFramer()
        let events = framer.push(Array(": keep-alive\n\ndata: cut".utf8))
        #expect(events.count == 1)
        #expect(events[0].data.isEmpty)
        #expect(framer.finish().text == "data: cut")
    }
}

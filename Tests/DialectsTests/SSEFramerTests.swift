import GatewayTesting
import Testing

@testable import Dialects

@Suite struct SSEFramerTests {
    @Test func framesTheWireTranscriptWhateverTheChunking() throws {
        let transcript = try Fixture.bytes("openai/stream_text.sse")
        for chunkSize in [1, 2, 3, 7, 64, transcript.count] {
            var framer = SSEFramer()
            var events: [SSEEvent] = []
            events += feed(transcript, inChunksOf: chunkSize) { framer.push($0) }
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

    @Test func examinesEachByteOnceWhenALongLineArrivesInSmallChunks() {
        var framer = SSEFramer()
        let line = Array(("data: " + String(repeating: "x", count: 20_000)).utf8)
        for byte in line { #expect(framer.push([byte]).isEmpty) }
        let events = framer.push(Array("\n\n".utf8))
        #expect(events.count == 1)
        #expect(events[0].data.count == 20_000)
        // Rescanning the unfinished line on every push would examine about n²/2 = 2·10⁸ bytes.
        #expect(framer.scannedByteCount <= line.count + 2)
    }

    @Test func examinesEachByteOnceForAnEventOfManyLines() {
        var framer = SSEFramer()
        var sent = 0
        for _ in 0..<2_000 {
            let line = Array("data: abcdefgh\n".utf8)
            sent += line.count
            for byte in line { #expect(framer.push([byte]).isEmpty) }
        }
        let events = framer.push(Array("\n".utf8))
        #expect(events.count == 1)
        #expect(framer.scannedByteCount <= sent + 1)
    }

    @Test func stopsAndDropsTheBufferWhenAnEventPassesTheCap() {
        var framer = SSEFramer(maximumEventBytes: 1024)
        #expect(framer.push(Array("data: small\n\n".utf8)).count == 1)
        #expect(!framer.overflowed)
        var pushed = 0
        while !framer.overflowed && pushed < 10_000 {
            #expect(framer.push(Array(repeating: UInt8(ascii: "x"), count: 100)).isEmpty)
            pushed += 100
        }
        #expect(framer.overflowed)
        #expect(pushed <= 1_100)
        #expect(framer.pendingByteCount == 0)
        // Nothing more is framed, even a complete event.
        #expect(framer.push(Array("\n\ndata: late\n\n".utf8)).isEmpty)
        #expect(framer.pendingByteCount == 0)
    }

    @Test func anEventJustUnderTheCapIsFramed() {
        var framer = SSEFramer(maximumEventBytes: 64)
        let event = Array(("data: " + String(repeating: "y", count: 56) + "\n\n").utf8)
        #expect(event.count == 64)
        #expect(framer.push(event).count == 1)
        #expect(!framer.overflowed)
    }
}

import GatewayCore
import Testing

@testable import Dialects

/// Binary event-stream framing: docs/wire/bedrock.md §5's worked frames, CRCs, splits at every
/// byte position, and the errors that end a stream.
@Suite struct AWSEventStreamFramerTests {
    /// The worked `contentBlockDelta` frame of the wire notes, byte for byte.
    static let workedFrame: [UInt8] = hexBytes(
        """
        00 00 00 9f 00 00 00 57 c3 7b ab ff 0b 3a 65 76 65 6e 74 2d 74 79 70 65 07 00 11 63 6f 6e 74 65
        6e 74 42 6c 6f 63 6b 44 65 6c 74 61 0d 3a 63 6f 6e 74 65 6e 74 2d 74 79 70 65 07 00 10 61 70 70
        6c 69 63 61 74 69 6f 6e 2f 6a 73 6f 6e 0d 3a 6d 65 73 73 61 67 65 2d 74 79 70 65 07 00 05 65 76
        65 6e 74 7b 22 63 6f 6e 74 65 6e 74 42 6c 6f 63 6b 49 6e 64 65 78 22 3a 30 2c 22 64 65 6c 74 61
        22 3a 7b 22 74 65 78 74 22 3a 22 48 69 22 7d 2c 22 70 22 3a 22 61 62 63 64 22 7d f2 ac e5 ff
        """)

    static func hexBytes(_ text: String) -> [UInt8] {
        text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { UInt8($0, radix: 16)! }
    }

    @Test func crc32IsTheIEEEChecksum() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }

    @Test func theWorkedFrameDecodes() throws {
        var framer = AWSEventStreamFramer()
        let messages = try framer.push(Self.workedFrame)
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.string(":event-type") == "contentBlockDelta")
        #expect(message.string(":content-type") == "application/json")
        #expect(message.string(":message-type") == "event")
        #expect(message.payload.text == #"{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"}"#)
        #expect(framer.pendingBytes == 0)
    }

    /// The test encoder reproduces both worked frames of the wire notes, CRCs included.
    @Test func theTestEncoderReproducesTheWorkedFrames() {
        let delta = EventStreamFrame.encode(
            headers: [
                (":event-type", "contentBlockDelta"), (":content-type", "application/json"), (":message-type", "event"),
            ],
            payload: #"{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"}"#)
        #expect(delta == Self.workedFrame)
        let exception = EventStreamFrame.encode(
            headers: [
                (":exception-type", "throttlingException"), (":content-type", "application/json"),
                (":message-type", "exception"),
            ],
            payload: #"{"message":"Rate exceeded"}"#)
        #expect(exception.count == 140)
        #expect(AWSEventStreamFramer.uint32(exception, at: 4) == 97)
        #expect(AWSEventStreamFramer.uint32(exception, at: 8) == 0x2b81_d334)
        #expect(AWSEventStreamFramer.uint32(exception, at: exception.count - 4) == 0xb95a_d7de)
    }

    /// Two frames, split into two chunks at every possible position, give the same two messages.
    @Test func framesSplitAtEveryBytePositionDecode() throws {
        let second = EventStreamFrame.event("messageStop", #"{"stopReason":"end_turn"}"#)
        let stream = Self.workedFrame + second
        for cut in 0...stream.count {
            var framer = AWSEventStreamFramer()
            var messages = try framer.push(Array(stream[..<cut]))
            messages += try framer.push(Array(stream[cut...]))
            #expect(messages.map { $0.string(":event-type") } == ["contentBlockDelta", "messageStop"], "cut at \(cut)")
            #expect(framer.pendingBytes == 0)
        }
    }

    @Test func oneByteAtATimeDecodes() throws {
        var framer = AWSEventStreamFramer()
        var count = 0
        for byte in Self.workedFrame + Self.workedFrame { count += try framer.push([byte]).count }
        #expect(count == 2)
    }

    @Test func aBadPreludeCRCIsAnError() {
        var frame = Self.workedFrame
        frame[9] ^= 0xFF
        var framer = AWSEventStreamFramer()
        #expect(throws: AWSEventStreamFramer.Failure.self) { try framer.push(frame) }
        #expect(framer.failure?.description.contains("prelude CRC") == true)
    }

    @Test func aCorruptLengthIsCaughtByThePreludeCRCWithoutWaiting() {
        var frame = Self.workedFrame
        frame[0] = 0x7F  // total length ~2 GiB: must not wait for it
        var framer = AWSEventStreamFramer()
        #expect(throws: AWSEventStreamFramer.Failure.self) { try framer.push(Array(frame.prefix(12))) }
    }

    @Test func aBadMessageCRCIsAnError() {
        for index in [20, 100, Self.workedFrame.count - 1] {
            var frame = Self.workedFrame
            frame[index] ^= 0x01
            var framer = AWSEventStreamFramer()
            #expect(throws: AWSEventStreamFramer.Failure.self) { try framer.push(frame) }
            if case .messageCRC = framer.failure {
            } else {
                Issue.record("byte \(index): \(String(describing: framer.failure))")
            }
        }
    }

    @Test func anOversizeFrameIsAnErrorFromItsPrelude() throws {
        // A prelude claiming a 30 MiB payload, with a valid prelude CRC.
        var prelude: [UInt8] = []
        for value in [UInt32(30 << 20), 0] { prelude += EventStreamFrame.bigEndian(value) }
        prelude += EventStreamFrame.bigEndian(CRC32.checksum(prelude))
        var framer = AWSEventStreamFramer()
        #expect(throws: AWSEventStreamFramer.Failure.self) { try framer.push(prelude) }
        #expect(framer.failure?.description.contains("impossible lengths") == true)
        // Nothing is read after a failure.
        #expect(throws: AWSEventStreamFramer.Failure.self) { try framer.push(Self.workedFrame) }
    }

    @Test func everyHeaderTypeIsRead() throws {
        var headers: [UInt8] = []
        func name(_ text: String, _ type: UInt8) {
            headers += [UInt8(text.utf8.count)] + Array(text.utf8) + [type]
        }
        name("t", 0)
        name("f", 1)
        name("i8", 2)
        headers += [0xFF]
        name("i16", 3)
        headers += [0x01, 0x00]
        name("i32", 4)
        headers += [0xFF, 0xFF, 0xFF, 0xFE]
        name("i64", 5)
        headers += [0, 0, 0, 0, 0, 0, 0x10, 0]
        name("b", 6)
        headers += [0, 2, 0xAB, 0xCD]
        name("s", 7)
        headers += [0, 2] + Array("ok".utf8)
        name("ts", 8)
        headers += [0, 0, 0, 0, 0, 0, 0x03, 0xE8]
        name("u", 9)
        headers += Array(repeating: 7, count: 16)
        let frame = EventStreamFrame.encode(rawHeaders: headers, payload: [])
        var framer = AWSEventStreamFramer()
        let message = try #require(try framer.push(frame).first)
        let values = message.headers.map(\.value)
        #expect(
            values == [
                .bool(true), .bool(false), .integer(-1), .integer(256), .integer(-2), .integer(4096),
                .bytes([0xAB, 0xCD]), .string("ok"), .timestamp(milliseconds: 1000),
                .uuid(Array(repeating: 7, count: 16)),
            ])
    }

    @Test func aHeaderRunningPastItsSectionIsAnError() {
        let frame = EventStreamFrame.encode(
            rawHeaders: [3] + Array("abc".utf8) + [7, 0, 9] + Array("x".utf8), payload: [])
        var framer = AWSEventStreamFramer()
        #expect(throws: AWSEventStreamFramer.Failure.self) { try framer.push(frame) }
    }
}

/// Builds event-stream frames for tests (the wire notes' layout, with the library's CRC32).
enum EventStreamFrame {
    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    static func encode(headers: [(String, String)], payload: String) -> [UInt8] {
        var raw: [UInt8] = []
        for (name, value) in headers {
            raw += [UInt8(name.utf8.count)] + Array(name.utf8) + [7]
            raw += [UInt8(value.utf8.count >> 8), UInt8(value.utf8.count & 0xFF)] + Array(value.utf8)
        }
        return encode(rawHeaders: raw, payload: Array(payload.utf8))
    }

    static func encode(rawHeaders: [UInt8], payload: [UInt8]) -> [UInt8] {
        let total = UInt32(16 + rawHeaders.count + payload.count)
        var frame = bigEndian(total) + bigEndian(UInt32(rawHeaders.count))
        frame += bigEndian(CRC32.checksum(frame))
        frame += rawHeaders + payload
        return frame + bigEndian(CRC32.checksum(frame))
    }

    static func event(_ type: String, _ payload: String) -> [UInt8] {
        encode(
            headers: [(":event-type", type), (":content-type", "application/json"), (":message-type", "event")],
            payload: payload)
    }

    static func exception(_ type: String, _ payload: String) -> [UInt8] {
        encode(
            headers: [
                (":exception-type", type), (":content-type", "application/json"), (":message-type", "exception"),
            ],
            payload: payload)
    }
}

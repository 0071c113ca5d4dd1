/// Frames `application/vnd.amazon.eventstream` bodies (docs/wire/bedrock.md §5): bytes split
/// anywhere in, whole messages out, each checked against its prelude CRC and message CRC.
///
///     total_length u32 BE | headers_length u32 BE | prelude_crc u32 BE | headers | payload | message_crc u32 BE
///
/// A bad CRC, a length below the 16-byte overhead or above the limits, or a malformed header is an
/// error that ends the stream: nothing after it can be trusted. A pure state machine.
public struct AWSEventStreamFramer: Sendable {
    /// botocore's limits: headers up to 128 KiB, payload up to 24 MiB.
    public static let maximumHeadersBytes = 128 * 1024
    public static let maximumPayloadBytes = 24 * 1024 * 1024
    static let preludeBytes = 12
    static let overheadBytes = 16

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case preludeCRC(expected: UInt32, computed: UInt32)
        case messageCRC(expected: UInt32, computed: UInt32)
        case invalidLength(total: UInt32, headers: UInt32)
        case malformedHeaders(String)

        public var description: String {
            switch self {
            case .preludeCRC(let expected, let computed):
                "event-stream prelude CRC mismatch (frame says \(hex(expected)), bytes give \(hex(computed)))"
            case .messageCRC(let expected, let computed):
                "event-stream message CRC mismatch (frame says \(hex(expected)), bytes give \(hex(computed)))"
            case .invalidLength(let total, let headers):
                "event-stream frame with impossible lengths (total \(total), headers \(headers) bytes; "
                    + "limits: headers \(maximumHeadersBytes), payload \(maximumPayloadBytes))"
            case .malformedHeaders(let detail): "event-stream frame with malformed headers (\(detail))"
            }
        }

        private func hex(_ value: UInt32) -> String {
            let digits = String(value, radix: 16)
            return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
        }
    }

    private var buffer: [UInt8] = []
    private var start = 0
    public private(set) var failure: Failure?

    public init() {}

    /// Bytes received and not yet part of a whole message.
    public var pendingBytes: Int { buffer.count - start }

    /// The whole messages `chunk` completes. After a failure, nothing more is read.
    public mutating func push(_ chunk: [UInt8]) throws(Failure) -> [AWSEventStreamMessage] {
        if let failure { throw failure }
        buffer.append(contentsOf: chunk)
        var messages: [AWSEventStreamMessage] = []
        do {
            while let message = try next() { messages.append(message) }
        } catch {
            failure = error
            buffer = []
            start = 0
            throw error
        }
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        return messages
    }

    private mutating func next() throws(Failure) -> AWSEventStreamMessage? {
        guard pendingBytes >= Self.preludeBytes else { return nil }
        let total = Self.uint32(buffer, at: start)
        let headersLength = Self.uint32(buffer, at: start + 4)
        // The prelude CRC comes first: a corrupt length must not make us wait for 4 GiB.
        let preludeCRC = Self.uint32(buffer, at: start + 8)
        let computed = CRC32.checksum(buffer[start..<start + 8])
        guard preludeCRC == computed else { throw .preludeCRC(expected: preludeCRC, computed: computed) }
        guard Int(headersLength) <= Self.maximumHeadersBytes, Int(total) >= Self.overheadBytes + Int(headersLength),
            Int(total) - Self.overheadBytes - Int(headersLength) <= Self.maximumPayloadBytes
        else { throw .invalidLength(total: total, headers: headersLength) }
        guard pendingBytes >= Int(total) else { return nil }
        let end = start + Int(total)
        let messageCRC = Self.uint32(buffer, at: end - 4)
        let computedMessage = CRC32.checksum(buffer[start..<end - 4])
        guard messageCRC == computedMessage else {
            throw .messageCRC(expected: messageCRC, computed: computedMessage)
        }
        let headersStart = start + Self.preludeBytes
        let payloadStart = headersStart + Int(headersLength)
        let headers = try Self.headers(buffer[headersStart..<payloadStart])
        let message = AWSEventStreamMessage(headers: headers, payload: Array(buffer[payloadStart..<end - 4]))
        start = end
        return message
    }

    static func uint32(_ bytes: [UInt8], at index: Int) -> UInt32 {
        UInt32(bytes[index]) << 24 | UInt32(bytes[index + 1]) << 16 | UInt32(bytes[index + 2]) << 8
            | UInt32(bytes[index + 3])
    }

    /// `name_len u8 | name | type u8 | value`, for every value type of the format.
    static func headers(_ bytes: ArraySlice<UInt8>) throws(Failure) -> [(
        name: String, value: AWSEventStreamMessage.Value
    )] {
        var headers: [(name: String, value: AWSEventStreamMessage.Value)] = []
        var index = bytes.startIndex
        func take(_ count: Int) throws(Failure) -> ArraySlice<UInt8> {
            guard count >= 0, bytes.endIndex - index >= count else {
                throw .malformedHeaders("a value runs past the end")
            }
            defer { index += count }
            return bytes[index..<index + count]
        }
        func integer(_ count: Int) throws(Failure) -> Int64 {
            let raw = try take(count).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let shift = UInt64(64 - count * 8)
            return Int64(bitPattern: raw << shift) >> Int64(shift)
        }
        while index < bytes.endIndex {
            let nameLength = Int(try take(1).first!)
            guard nameLength > 0 else { throw .malformedHeaders("an empty header name") }
            let name = String(decoding: try take(nameLength), as: UTF8.self)
            let type = try take(1).first!
            let value: AWSEventStreamMessage.Value
            switch type {
            case 0: value = .bool(true)
            case 1: value = .bool(false)
            case 2: value = .integer(try integer(1))
            case 3: value = .integer(try integer(2))
            case 4: value = .integer(try integer(4))
            case 5: value = .integer(try integer(8))
            case 6: value = .bytes(Array(try take(Int(try integer(2)) & 0xFFFF)))
            case 7: value = .string(String(decoding: try take(Int(try integer(2)) & 0xFFFF), as: UTF8.self))
            case 8: value = .timestamp(milliseconds: try integer(8))
            case 9: value = .uuid(Array(try take(16)))
            default: throw .malformedHeaders("unknown value type \(type) for header \(name)")
            }
            headers.append((name, value))
        }
        return headers
    }
}

/// One event-stream message: its headers in order and its payload.
public struct AWSEventStreamMessage: Sendable {
    public enum Value: Sendable, Equatable {
        case bool(Bool)
        case integer(Int64)
        case bytes([UInt8])
        case string(String)
        case timestamp(milliseconds: Int64)
        case uuid([UInt8])
    }

    public var headers: [(name: String, value: Value)]
    public var payload: [UInt8]

    /// The string value of header `name` (`:event-type`, `:message-type`).
    public func string(_ name: String) -> String? {
        for header in headers where header.name == name {
            if case .string(let text) = header.value { return text }
        }
        return nil
    }
}

/// The gzip / IEEE 802.3 CRC-32 (reflected polynomial 0xEDB88320, init and final XOR 0xFFFFFFFF).
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// Bedrock's binary event-stream frames as the mock writes them (docs/wire/bedrock.md §5):
/// `total_length`, `headers_length`, prelude CRC32, string headers (type 7), payload, message CRC32.
enum BedrockMockEventStream {
    /// `:event-type`, `:content-type`, `:message-type: event`, and the payload with `"p"` padding
    /// appended, as Bedrock pads events against size side channels.
    static func event(_ type: String, _ json: String, padding: Int) -> [UInt8] {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        let pad = String(alphabet.prefix(max(1, padding % alphabet.count)))
        let payload = json.dropLast() + (json == "{}" ? "" : ",") + #""p":"\#(pad)"}"#
        return frame(
            headers: [(":event-type", type), (":content-type", "application/json"), (":message-type", "event")],
            payload: Array(payload.utf8))
    }

    /// `:message-type: exception` with `:exception-type` (`throttlingException`) and `{"message"}`.
    static func exception(_ type: String, message: String) -> [UInt8] {
        frame(
            headers: [
                (":exception-type", type), (":content-type", "application/json"), (":message-type", "exception"),
            ],
            payload: Array((#"{"message":"# + MockJSON.quoted(message) + "}").utf8))
    }

    static func frame(headers: [(String, String)], payload: [UInt8]) -> [UInt8] {
        var encoded: [UInt8] = []
        for (name, value) in headers {
            encoded.append(UInt8(name.utf8.count))
            encoded += Array(name.utf8)
            encoded.append(7)
            encoded += [UInt8(value.utf8.count >> 8), UInt8(value.utf8.count & 0xFF)]
            encoded += Array(value.utf8)
        }
        var frame = bigEndian(UInt32(16 + encoded.count + payload.count)) + bigEndian(UInt32(encoded.count))
        frame += bigEndian(crc32(frame))
        frame += encoded + payload
        return frame + bigEndian(crc32(frame))
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    private static let table: [UInt32] = (0..<256).map { index in
        (0..<8).reduce(UInt32(index)) { value, _ in value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        ~bytes.reduce(UInt32.max) { crc, byte in table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    }
}

/// Gemini 3 puts a `thoughtSignature` on each `functionCall` part and refuses the next turn unless
/// it comes back on the same part, unchanged (docs/wire/gemini.md). OpenAI and Anthropic
/// clients have no field for it, but they do send every tool call's id back: the signature rides in
/// the synthesised id, `call_0__ts_<signature as base64url>`, and is taken out again when the
/// history is encoded for Gemini. The id stays within `[A-Za-z0-9_-]`, so it is a valid Anthropic
/// `tool_use` id as well. A signature that is not standard base64 is not carried (none seen).
enum GeminiThoughtSignature {
    static let marker = "__ts_"

    /// `id` with `signature` appended, when it can be carried.
    static func id(_ id: String, carrying signature: String?) -> String {
        guard let signature, !signature.isEmpty else { return id }
        var encoded = ""
        encoded.reserveCapacity(signature.utf8.count)
        for byte in signature.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "+"): encoded += "-"
            case UInt8(ascii: "/"): encoded += "_"
            case UInt8(ascii: "="): continue
            default: return id
            }
        }
        guard (signature.utf8.count % 4) == 0 else { return id }
        return id + marker + encoded
    }

    /// The signature carried in a tool call id, if any.
    static func signature(inID id: String) -> String? {
        guard let range = id.firstRange(of: marker) else { return nil }
        let encoded = id[range.upperBound...]
        guard !encoded.isEmpty else { return nil }
        var signature = ""
        signature.reserveCapacity(encoded.utf8.count + 2)
        for character in encoded.unicodeScalars {
            switch character {
            case "-": signature += "+"
            case "_": signature += "/"
            default: signature.unicodeScalars.append(character)
            }
        }
        while signature.utf8.count % 4 != 0 { signature += "=" }
        return signature
    }
}

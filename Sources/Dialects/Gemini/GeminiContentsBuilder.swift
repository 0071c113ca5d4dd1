import GatewayCore

/// Canonical messages as Gemini's `contents` array: `user` and `model` turns only (assistant →
/// `model`, tool results → `user`), consecutive same-role turns merged.
///
/// - Text → `text` parts (empty ones left out); base64 images → `inlineData`; `http(s)` image URLs →
///   `fileData` with a MIME type guessed from the extension (a URL without a known one is refused).
/// - Tool calls → `functionCall{name,args}` parts; arguments that are not a JSON object are refused.
///   The `thoughtSignature` Gemini gave the call (carried in its id, `GeminiThoughtSignature`), else a
///   thinking signature earlier in the same message, rides on the `functionCall` part; thinking text
///   and redacted thinking are not sent.
/// - Tool results → `functionResponse{name,response}` parts; the name is that of the latest earlier
///   tool call with the result's id (unknown ids are refused). A text that is a JSON object is sent
///   as the response; anything else is wrapped as `{"result": …}`. Images in results are dropped.
enum GeminiContentsBuilder {
    private struct Turn {
        var role: String
        var parts: [[UInt8]] = []
    }

    static func contents(_ messages: [CanonicalMessage]) throws(GatewayError) -> [UInt8] {
        var turns: [Turn] = []
        var toolNames: [String: String] = [:]
        for message in messages {
            let role = message.role == .assistant ? "model" : "user"
            var turn = Turn(role: role)
            var signature: String?
            for part in message.content {
                switch part {
                case .text(let text):
                    guard !text.isEmpty else { continue }
                    var json = JSONWriter(capacity: text.utf8.count + 16)
                    json.object { $0.field("text", text) }
                    turn.parts.append(json.bytes)
                case .image(let image):
                    turn.parts.append(try imagePart(image))
                case .toolCall(let call):
                    toolNames[call.id] = call.name
                    let carried = GeminiThoughtSignature.signature(inID: call.id)
                    turn.parts.append(try functionCall(call, signature: carried ?? signature))
                    signature = nil
                case .toolResult(let result):
                    guard let name = toolNames[result.toolCallID] else {
                        throw GatewayError(
                            .badRequest,
                            "The tool result for '\(result.toolCallID)' matches no earlier tool call; "
                                + "this provider needs the function's name.",
                            param: "messages"
                        )
                    }
                    turn.parts.append(functionResponse(result, name: name))
                case .thinking(_, let thinkingSignature):
                    if let thinkingSignature, !thinkingSignature.isEmpty { signature = thinkingSignature }
                case .redactedThinking:
                    continue
                }
            }
            guard !turn.parts.isEmpty else { continue }
            if let last = turns.last, last.role == role {
                turns[turns.count - 1].parts += turn.parts
            } else {
                turns.append(turn)
            }
        }
        var json = JSONWriter(capacity: 1024)
        json.array { json in
            for turn in turns {
                json.object {
                    $0.field("role", turn.role)
                    $0.key("parts")
                    $0.array { json in
                        for part in turn.parts { json.raw(part) }
                    }
                }
            }
        }
        return json.bytes
    }

    private static func imagePart(_ image: CanonicalImage) throws(GatewayError) -> [UInt8] {
        var json = JSONWriter(capacity: 256)
        switch image.source {
        case .base64(let mediaType, let data):
            json.object {
                $0.key("inlineData")
                $0.object {
                    $0.field("mimeType", mediaType)
                    $0.field("data", data)
                }
            }
        case .url(let url):
            let lower = url.lowercased()
            guard lower.hasPrefix("https://") || lower.hasPrefix("http://"), let mimeType = mimeType(forURL: url)
            else {
                throw GatewayError(
                    .badRequest,
                    "This provider takes images as base64 data URLs, or http(s) URLs ending in a known image "
                        + "extension (.png, .jpg, .jpeg, .webp, .gif, .heic, .heif).",
                    param: "messages"
                )
            }
            json.object {
                $0.key("fileData")
                $0.object {
                    $0.field("mimeType", mimeType)
                    $0.field("fileUri", url)
                }
            }
        }
        return json.bytes
    }

    /// The MIME type for a URL's file extension (query and fragment ignored), if it is a known one.
    static func mimeType(forURL url: String) -> String? {
        var path = Substring(url)
        if let cut = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<cut] }
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        switch path[path.index(after: dot)...].lowercased() {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "webp": return "image/webp"
        case "gif": return "image/gif"
        case "heic": return "image/heic"
        case "heif": return "image/heif"
        case "pdf": return "application/pdf"
        default: return nil
        }
    }

    private static func functionCall(_ call: CanonicalToolCall, signature: String?) throws(GatewayError) -> [UInt8] {
        let trimmed = DialectJSON.trimmed(call.arguments)
        var args = Array("{}".utf8)
        if !trimmed.isEmpty {
            guard DialectJSON.isObject(trimmed) else {
                throw GatewayError(
                    .badRequest,
                    "The arguments of tool call '\(call.id)' are not a JSON object; this provider needs one.",
                    param: "messages"
                )
            }
            args = Array(trimmed.utf8)
        }
        var json = JSONWriter(capacity: 128)
        json.object {
            $0.key("functionCall")
            $0.object {
                $0.field("name", call.name)
                $0.field("args", rawJSON: args)
            }
            if let signature { $0.field("thoughtSignature", signature) }
        }
        return json.bytes
    }

    private static func functionResponse(_ result: CanonicalToolResult, name: String) -> [UInt8] {
        let text = result.content.reduce(into: "") { text, part in
            if case .text(let piece) = part { text += piece }
        }
        let trimmed = DialectJSON.trimmed(text)
        var response: [UInt8]
        if DialectJSON.isObject(trimmed) {
            response = Array(trimmed.utf8)
        } else {
            var wrapped = JSONWriter(capacity: text.utf8.count + 16)
            wrapped.object { $0.field("result", text) }
            response = wrapped.bytes
        }
        var json = JSONWriter(capacity: response.count + 64)
        json.object {
            $0.key("functionResponse")
            $0.object {
                $0.field("name", name)
                $0.field("response", rawJSON: response)
            }
        }
        return json.bytes
    }
}

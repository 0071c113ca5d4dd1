import Crypto
import Dialects
import GatewayCore

/// What the semantic cache embeds of a chat request (chat completions or Anthropic Messages: the
/// same `messages` of `role` and `content`, a string or `text` parts), and the namespace its
/// entries live in (an Anthropic `system` member is part of it like any other member).
///
/// The namespace is SHA-256 over `formatVersion`, then the exact cache key of the request with
/// `messages` left out (`CacheKeyBuilder`: caller or `"shared"`, endpoint, model alias, and every
/// other member that changes the answer — tools, response_format, temperature, stream, …), then
/// the messages with the embedded text blanked (roles, system and developer prompts, earlier turns
/// under `last_user`, tool calls and non-text parts). Two requests are candidates for each other
/// only when all of that is equal, so a hit never crosses a caller, a system prompt or a tool set.
///
/// - `last_user`: the text of the last `user` message (string content, or its `text` parts joined
///   by a newline); everything else is namespace.
/// - `conversation`: the text of every `user` and `assistant` message, one `role: text` line each;
///   system, developer and tool messages are namespace.
///
/// Nil (the semantic cache does not apply) when the body is not a chat request with a user
/// message, or when a message to embed has a part other than text (an image is not embedded, so it
/// could not tell two requests apart).
struct SemanticPrompt: Equatable {
    static let formatVersion = "llmgw-semantic-namespace/1"

    let text: String
    let namespace: CacheKey

    init?(
        body: [UInt8], embed: SemanticCacheConfiguration.Embed, namespace owner: String, model: String,
        endpoint: String, headers: [String]
    ) {
        guard let scan = try? JSONScanner.scanObject(body), let member = scan.member("messages"),
            let messages = (try? JSONScanner.parse(body, in: member.valueRange))?.array,
            let others = CacheKeyBuilder.key(
                namespace: owner, model: model, endpoint: endpoint, body: body, headers: headers,
                omitting: ["messages"])
        else { return nil }
        let embedded: [Int]
        switch embed {
        case .lastUser:
            guard let last = messages.lastIndex(where: { $0["role"]?.string == "user" }) else { return nil }
            embedded = [last]
        case .conversation:
            embedded = messages.indices.filter { ["user", "assistant"].contains(messages[$0]["role"]?.string) }
        }
        var lines: [String] = []
        var blanked = messages
        for index in embedded {
            guard let object = messages[index].object else { return nil }
            let content = object["content"]
            guard let text = Self.text(of: content) else {
                // An assistant turn of tool calls only has no text: it stays namespace.
                if content == nil || content == .null, embed == .conversation { continue }
                return nil
            }
            if text.isEmpty && embed == .conversation { continue }
            let role = object["role"]?.string ?? ""
            lines.append(embed == .conversation ? role + ": " + text : text)
            var members = object.members.filter { $0.key != "content" }
            members.append(.init(key: "content", value: .null))
            blanked[index] = .object(JSONObject(members))
        }
        let text = lines.joined(separator: "\n")
        guard !text.isEmpty else { return nil }
        var hasher = SHA256()
        for part in [Array(Self.formatVersion.utf8), others.digest, JSONValue.array(blanked).bytes] {
            withUnsafeBytes(of: UInt64(part.count).bigEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: part)
        }
        self.text = text
        self.namespace = CacheKey(digest: Array(hasher.finalize()))
    }

    /// A string content, or the `text` of every part (nil when a part is not text).
    static func text(of content: JSONValue?) -> String? {
        if let text = content?.string { return text }
        guard let parts = content?.array, !parts.isEmpty else { return nil }
        var texts: [String] = []
        for part in parts {
            guard part["type"]?.string == "text", let text = part["text"]?.string else { return nil }
            texts.append(text)
        }
        return texts.joined(separator: "\n")
    }
}

import GatewayCore

/// Automatic prompt-cache breakpoints for Anthropic (`auto_cache_control: true` on the provider):
/// when a Messages body has no `cache_control` anywhere, one `{"type":"ephemeral"}` breakpoint goes
/// on the last system block (a string `system` becomes one text block) and one on the last tool, so
/// the stable prefix of a conversation (tools, then system) is cached by Anthropic. Two of the four
/// breakpoints Anthropic allows; a body that sets any of its own is left exactly as it is. A prefix
/// shorter than the model's minimum cacheable length is simply not cached (no error).
public enum AnthropicPromptCache {
    public static func markingBreakpoints(_ body: [UInt8]) -> [UInt8] {
        guard !containsCacheControl(body), case .object(var root)? = try? JSONScanner.parse(body) else { return body }
        var changed = false
        for (index, member) in root.members.enumerated() {
            switch member.key {
            case "system":
                if let marked = markedSystem(member.value) {
                    root.members[index].value = marked
                    changed = true
                }
            case "tools":
                if case .array(var tools) = member.value, let last = tools.indices.last,
                    case .object(let tool) = tools[last]
                {
                    tools[last] = .object(marked(tool))
                    root.members[index].value = .array(tools)
                    changed = true
                }
            default:
                continue
            }
        }
        guard changed else { return body }
        var json = JSONWriter(capacity: body.count + 64)
        json.value(.object(root))
        return json.bytes
    }

    private static func markedSystem(_ system: JSONValue) -> JSONValue? {
        switch system {
        case .string(let text) where !text.isEmpty:
            return .array([
                .object(
                    marked(
                        JSONObject([
                            .init(key: "type", value: .string("text")), .init(key: "text", value: .string(text)),
                        ])))
            ])
        case .array(var blocks):
            guard let last = blocks.indices.last, case .object(let block) = blocks[last] else { return nil }
            blocks[last] = .object(marked(block))
            return .array(blocks)
        default:
            return nil
        }
    }

    private static func marked(_ object: JSONObject) -> JSONObject {
        var object = object
        object.members.append(
            .init(key: "cache_control", value: .object(JSONObject([.init(key: "type", value: .string("ephemeral"))]))))
        return object
    }

    /// A `"cache_control"` key anywhere in the body (a string with that text inside a message
    /// also counts: then nothing is added, which is only a missed optimisation).
    private static func containsCacheControl(_ body: [UInt8]) -> Bool {
        let needle = Array(#""cache_control""#.utf8)
        guard body.count >= needle.count else { return false }
        var index = 0
        while index <= body.count - needle.count {
            if body[index] == needle[0] && body[index..<(index + needle.count)].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}

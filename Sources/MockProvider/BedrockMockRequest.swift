import Foundation

/// A Converse request body, validated as strictly as Bedrock does (docs/wire/bedrock.md §2): only
/// the documented top-level members; `messages` non-empty, starting with `user`, roles alternating;
/// each content block exactly one known member, blobs as base64 strings; `toolUse`/`toolResult`
/// only with a `toolConfig`; `inferenceConfig` members typed and in range; `toolChoice` one of
/// `auto`, `any`, `tool`. A failure is the `ValidationException` message Bedrock would send.
struct BedrockMockRequest {
    static let topLevelKeys: Set<String> = [
        "messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig", "additionalModelRequestFields",
        "promptVariables", "additionalModelResponseFieldPaths", "requestMetadata", "performanceConfig",
    ]
    static let blockKinds: Set<String> = [
        "text", "image", "document", "video", "toolUse", "toolResult", "guardContent", "cachePoint",
        "reasoningContent", "citationsContent",
    ]

    var lastUserText = ""
    /// The text of the tool results in the last user turn, when it has any.
    var toolResult: String?
    /// The tool to call: the named one, else the first, unless the last turn brought results.
    var function: (name: String, schema: [String: Any]?)?
    var maxTokens: Int?
    var promptTokens = 0
    var thinking = false

    struct Invalid: Error {
        let message: String
    }

    init(body: [UInt8]) throws(Invalid) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)), let root = object as? [String: Any]
        else { throw Invalid(message: "Malformed input request, please reformat your input and try again.") }
        for key in root.keys.sorted() where !Self.topLevelKeys.contains(key) {
            throw Invalid(
                message:
                    "Malformed input request: extraneous key [\(key)] is not permitted, please reformat your input and try again."
            )
        }
        if root["modelId"] != nil || root["model"] != nil {
            throw Invalid(message: "Malformed input request: the model id goes in the path.")
        }
        var texts: [String] = []
        if let system = root["system"] {
            guard let blocks = system as? [[String: Any]] else { throw Invalid(message: "system must be a list.") }
            for (index, block) in blocks.enumerated() {
                guard block.count == 1, let kind = block.keys.first,
                    ["text", "cachePoint", "guardContent"].contains(kind)
                else {
                    throw Invalid(message: "The SystemContentBlock at system.\(index) must have exactly one member.")
                }
                if let text = block["text"] as? String { texts.append(text) }
            }
        }
        guard let messages = root["messages"] as? [[String: Any]], !messages.isEmpty else {
            throw Invalid(message: "The model returned the following errors: messages: Field required")
        }
        let hasToolConfig = root["toolConfig"] != nil
        var previousRole: String?
        for (index, message) in messages.enumerated() {
            guard let role = message["role"] as? String, role == "user" || role == "assistant" else {
                throw Invalid(
                    message: "Value at 'messages.\(index + 1).member.role' failed to satisfy constraint: "
                        + "Member must satisfy enum value set: [user, assistant]")
            }
            if index == 0, role != "user" {
                throw Invalid(
                    message: "A conversation must start with a user message. Try again with a conversation "
                        + "that starts with a user message.")
            }
            if role == previousRole {
                throw Invalid(
                    message: "A conversation must alternate between user and assistant roles. Make sure the "
                        + "conversation alternates between user and assistant roles and try again.")
            }
            previousRole = role
            guard let content = message["content"] as? [[String: Any]], !content.isEmpty else {
                throw Invalid(
                    message: "The content field in the Message object at messages.\(index) is empty. Add a "
                        + "ContentBlock object to the content field and try again.")
            }
            var userText = ""
            var results: [String] = []
            for (position, block) in content.enumerated() {
                let path = "messages.\(index).content.\(position)"
                try Self.validate(block, path: path, hasToolConfig: hasToolConfig)
                if let text = block["text"] as? String {
                    texts.append(text)
                    userText += text
                }
                if let result = block["toolResult"] as? [String: Any] {
                    let parts = result["content"] as? [[String: Any]] ?? []
                    let text = parts.compactMap { part -> String? in
                        if let text = part["text"] as? String { return text }
                        if let json = part["json"], let data = try? JSONSerialization.data(withJSONObject: json) {
                            return String(decoding: data, as: UTF8.self)
                        }
                        return nil
                    }.joined()
                    texts.append(text)
                    results.append(text)
                }
            }
            if role == "user" {
                lastUserText = userText
                toolResult = results.isEmpty ? nil : results.joined(separator: " ")
            }
        }
        if let config = root["inferenceConfig"] { try readInferenceConfig(config) }
        if let config = root["toolConfig"] { try readToolConfig(config) }
        if toolResult != nil { function = nil }
        thinking =
            ((root["additionalModelRequestFields"] as? [String: Any])?["thinking"] as? [String: Any])?["type"]
            as? String == "enabled"
        promptTokens = texts.reduce(0) { $0 + MockTokens.count($1) } + 4 * messages.count
    }

    private static func validate(_ block: [String: Any], path: String, hasToolConfig: Bool) throws(Invalid) {
        guard block.count == 1, let kind = block.keys.first, blockKinds.contains(kind) else {
            throw Invalid(
                message: "The ContentBlock object at \(path) must set exactly one of the following keys: "
                    + blockKinds.sorted().joined(separator: ", ") + ".")
        }
        switch kind {
        case "text":
            guard let text = block["text"] as? String else { throw Invalid(message: "\(path).text must be a string.") }
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw Invalid(
                    message: "The text field in the ContentBlock object at \(path) is blank. Add text to the "
                        + "text field, and try again.")
            }
        case "image":
            try validateImage(block["image"], path: path + ".image")
        case "toolUse", "toolResult":
            guard hasToolConfig else {
                throw Invalid(
                    message: "The toolConfig field must be defined when using toolUse and toolResult content "
                        + "blocks.")
            }
            let member = block[kind] as? [String: Any] ?? [:]
            guard member["toolUseId"] is String else {
                throw Invalid(message: "\(path).\(kind).toolUseId is required.")
            }
            if kind == "toolUse" {
                guard member["name"] is String, member["input"] is [String: Any] else {
                    throw Invalid(message: "\(path).toolUse needs a name and an input object.")
                }
            } else {
                guard let content = member["content"] as? [[String: Any]] else {
                    throw Invalid(message: "\(path).toolResult.content must be a list.")
                }
                for item in content
                where item.count != 1 || !["json", "text", "image", "document"].contains(item.keys.first!) {
                    throw Invalid(message: "\(path).toolResult.content holds an unknown block.")
                }
                if let status = member["status"], !(["success", "error"] as [String]).contains(status as? String ?? "")
                {
                    throw Invalid(message: "\(path).toolResult.status must be success or error.")
                }
            }
        case "reasoningContent":
            let member = block["reasoningContent"] as? [String: Any] ?? [:]
            let text = member["reasoningText"] as? [String: Any]
            guard member.count == 1, text?["text"] is String || member["redactedContent"] is String else {
                throw Invalid(message: "\(path).reasoningContent must hold reasoningText{text} or redactedContent.")
            }
        case "cachePoint":
            guard (block["cachePoint"] as? [String: Any])?["type"] as? String == "default" else {
                throw Invalid(message: "\(path).cachePoint.type must be default.")
            }
        default:
            break
        }
    }

    private static func validateImage(_ value: Any?, path: String) throws(Invalid) {
        guard let image = value as? [String: Any], let format = image["format"] as? String,
            ["png", "jpeg", "gif", "webp"].contains(format)
        else { throw Invalid(message: "\(path).format must be one of png, jpeg, gif, webp.") }
        guard let source = image["source"] as? [String: Any], source.count == 1 else {
            throw Invalid(message: "\(path).source must set exactly one of bytes, s3Location.")
        }
        if let bytes = source["bytes"] {
            guard let text = bytes as? String, !text.hasPrefix("data:"), Data(base64Encoded: text) != nil else {
                throw Invalid(message: "\(path).source.bytes must be base64-encoded image bytes.")
            }
        } else if source["s3Location"] == nil {
            throw Invalid(message: "\(path).source must set exactly one of bytes, s3Location.")
        }
    }

    private mutating func readInferenceConfig(_ value: Any) throws(Invalid) {
        guard let config = value as? [String: Any] else { throw Invalid(message: "inferenceConfig must be an object.") }
        for key in config.keys where !["maxTokens", "temperature", "topP", "stopSequences"].contains(key) {
            throw Invalid(
                message: "Malformed input request: extraneous key [\(key)] in inferenceConfig is not permitted.")
        }
        if let max = config["maxTokens"] {
            guard let number = max as? Int, number >= 1 else {
                throw Invalid(message: "The maximum tokens you requested exceeds the model limit or is below 1.")
            }
            maxTokens = number
        }
        for key in ["temperature", "topP"] {
            if let number = config[key] {
                guard let value = number as? Double, (0...1).contains(value) else {
                    throw Invalid(message: "inferenceConfig.\(key) must be between 0 and 1.")
                }
            }
        }
        if let stops = config["stopSequences"], !(stops is [String]) {
            throw Invalid(message: "inferenceConfig.stopSequences must be a list of strings.")
        }
    }

    private mutating func readToolConfig(_ value: Any) throws(Invalid) {
        guard let config = value as? [String: Any], let tools = config["tools"] as? [[String: Any]], !tools.isEmpty
        else { throw Invalid(message: "toolConfig.tools must be a non-empty list.") }
        var specs: [(name: String, schema: [String: Any]?)] = []
        for (index, tool) in tools.enumerated() {
            if tool["cachePoint"] != nil { continue }
            guard tool.count == 1, let spec = tool["toolSpec"] as? [String: Any], let name = spec["name"] as? String,
                let schema = (spec["inputSchema"] as? [String: Any])?["json"] as? [String: Any]
            else { throw Invalid(message: "toolConfig.tools.\(index) needs toolSpec{name, inputSchema{json}}.") }
            specs.append((name, schema))
        }
        var chosen = specs.first
        if let choice = config["toolChoice"] {
            guard let choice = choice as? [String: Any], choice.count == 1, let kind = choice.keys.first,
                ["auto", "any", "tool"].contains(kind)
            else { throw Invalid(message: "toolConfig.toolChoice must set exactly one of auto, any, tool.") }
            if kind == "tool" {
                let name = (choice["tool"] as? [String: Any])?["name"] as? String
                guard let match = specs.first(where: { $0.name == name }) else {
                    throw Invalid(message: "toolConfig.toolChoice.tool.name must name one of the tools.")
                }
                chosen = match
            }
        }
        function = chosen
    }
}

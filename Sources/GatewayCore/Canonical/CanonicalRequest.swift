/// A chat request in the gateway's own terms, between a client dialect's decoder and a provider
/// dialect's encoder (hub and spoke). Plain values only: no JSON, no dialect names.
///
/// Instructions (`system`/`developer` messages in OpenAI, top-level `system` in Anthropic) live in
/// `system`, in order; `messages` hold only user, assistant and tool turns.
public struct CanonicalRequest: Sendable, Equatable {
    public var model: String
    /// Instruction texts, in the order the client gave them.
    public var system: [String]
    public var messages: [CanonicalMessage]
    public var tools: [CanonicalTool]
    public var toolChoice: CanonicalToolChoice?
    /// `false` asks for at most one tool call per turn; nil leaves the provider's default.
    public var parallelToolCalls: Bool?
    public var sampling: CanonicalSampling
    public var responseFormat: CanonicalResponseFormat?
    public var stream: Bool
    /// The client wants token usage at the end of the stream.
    public var includeUsage: Bool
    public var thinking: CanonicalThinking?
    /// An end-user id for the provider's abuse monitoring.
    public var user: String?
    public var metadata: [String: String]
    /// Prompt-cache breakpoints the client set (Anthropic `cache_control`), for providers that
    /// cache by marks (Bedrock `cachePoint`).
    public var cacheMarks = CanonicalCacheMarks()

    public init(
        model: String,
        system: [String] = [],
        messages: [CanonicalMessage] = [],
        tools: [CanonicalTool] = [],
        toolChoice: CanonicalToolChoice? = nil,
        parallelToolCalls: Bool? = nil,
        sampling: CanonicalSampling = CanonicalSampling(),
        responseFormat: CanonicalResponseFormat? = nil,
        stream: Bool = false,
        includeUsage: Bool = false,
        thinking: CanonicalThinking? = nil,
        user: String? = nil,
        metadata: [String: String] = [:]
    ) {
        self.model = model
        self.system = system
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.parallelToolCalls = parallelToolCalls
        self.sampling = sampling
        self.responseFormat = responseFormat
        self.stream = stream
        self.includeUsage = includeUsage
        self.thinking = thinking
        self.user = user
        self.metadata = metadata
    }
}

/// Where a client asked for prompt-cache breakpoints: after the instructions, after the tools.
/// Breakpoints inside messages are not carried (the stable prefix is what these two cover).
public struct CanonicalCacheMarks: Sendable, Equatable {
    public var system = false
    public var tools = false

    public init(system: Bool = false, tools: Bool = false) {
        self.system = system
        self.tools = tools
    }
}

public enum CanonicalRole: String, Sendable, Equatable {
    case user
    case assistant
    /// Results of tool calls; such a message holds `.toolResult` parts.
    case tool
}

public struct CanonicalMessage: Sendable, Equatable {
    public var role: CanonicalRole
    public var content: [CanonicalContentPart]

    public init(role: CanonicalRole, content: [CanonicalContentPart]) {
        self.role = role
        self.content = content
    }
}

/// A piece of a message or of an answer.
public enum CanonicalContentPart: Sendable, Equatable {
    case text(String)
    case image(CanonicalImage)
    case toolCall(CanonicalToolCall)
    case toolResult(CanonicalToolResult)
    /// Visible reasoning; `signature` must go back to the provider unchanged.
    case thinking(text: String, signature: String?)
    /// Encrypted reasoning; must go back to the provider unchanged.
    case redactedThinking(data: String)
}

public struct CanonicalImage: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// Inline bytes, base64-encoded (an OpenAI `data:` URL).
        case base64(mediaType: String, data: String)
        /// A URL the provider fetches itself.
        case url(String)
    }

    public var source: Source
    /// OpenAI's `detail` hint (`auto`, `low`, `high`); other dialects ignore it.
    public var detail: String?

    public init(source: Source, detail: String? = nil) {
        self.source = source
        self.detail = detail
    }
}

public struct CanonicalToolCall: Sendable, Equatable {
    public var id: String
    public var name: String
    /// The arguments as a JSON text, exactly as the model produced them (may be invalid JSON).
    public var arguments: String

    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }
}

public struct CanonicalToolResult: Sendable, Equatable {
    public var toolCallID: String
    /// Text and image parts.
    public var content: [CanonicalContentPart]
    public var isError: Bool

    public init(toolCallID: String, content: [CanonicalContentPart], isError: Bool = false) {
        self.toolCallID = toolCallID
        self.content = content
        self.isError = isError
    }
}

public struct CanonicalTool: Sendable, Equatable {
    public var name: String
    public var description: String?
    /// The parameters' JSON schema as JSON bytes; nil when the tool takes none.
    public var parameters: [UInt8]?
    /// OpenAI's `strict` flag; other dialects ignore it.
    public var strict: Bool?

    public init(name: String, description: String? = nil, parameters: [UInt8]? = nil, strict: Bool? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.strict = strict
    }
}

public enum CanonicalToolChoice: Sendable, Equatable {
    case auto
    /// No tool calls (OpenAI `"none"`); named so that it never reads as `Optional.none`.
    case disabled
    /// The model must call some tool.
    case required
    /// The model must call this tool.
    case tool(name: String)
}

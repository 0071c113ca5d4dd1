import GatewayCore

/// What the gateway needs to know about a request body, read without decoding it. OpenAI and
/// Anthropic Messages bodies share the fields it reads (`model`, `stream`, `messages`).
public struct RequestSummary: Sendable {
    public var endpoint: RequestInspection.Endpoint
    public var model: String
    public var stream: Bool
    /// The client asked for the usage chunk itself (`stream_options.include_usage: true`).
    public var clientWantsStreamUsage: Bool
    let scan: JSONObjectScan
}

/// A client's request body read without decoding it (OpenAI Chat Completions and embeddings,
/// Anthropic Messages and `count_tokens`): the body is checked and summarised for every target;
/// when it passes through to a provider of its own dialect, only `model` is rewritten (and, for
/// OpenAI streams, `stream_options.include_usage` forced on so the gateway learns the usage);
/// every other byte goes out as the client sent it.
public enum RequestInspection {
    public enum Endpoint: Sendable {
        case chatCompletions
        case embeddings
        /// Anthropic `POST /v1/messages`.
        case messages
        /// Anthropic `POST /v1/messages/count_tokens`.
        case countTokens
        /// OpenAI Responses `POST /v1/responses`.
        case responses
        /// OpenAI's legacy text completions, `POST /v1/completions` (passthrough only).
        case completions
        /// OpenAI moderation, `POST /v1/moderations` (passthrough to OpenAI-compatible targets only).
        case moderations

        /// The field besides `model` that the endpoint requires.
        var requiredField: String {
            switch self {
            case .chatCompletions, .messages, .countTokens: "messages"
            case .embeddings, .responses, .moderations: "input"
            case .completions: "prompt"
            }
        }
    }

    /// Checks the body (valid JSON object, `model` a non-empty string, the endpoint's required
    /// field present, `stream` a boolean) and summarises it.
    public static func inspect(_ body: [UInt8], endpoint: Endpoint) throws(GatewayError) -> RequestSummary {
        let scan: JSONObjectScan
        do {
            scan = try JSONScanner.scanObject(body)
        } catch {
            throw GatewayError(.badRequest, "We could not parse the JSON body of your request: \(error).")
        }
        guard let modelMember = scan.member("model") else {
            throw GatewayError(.badRequest, "you must provide a model parameter", param: "model")
        }
        guard let model = JSONScanner.string(body, at: modelMember.valueRange), !model.isEmpty else {
            throw GatewayError(.badRequest, "'model' must be a non-empty string", param: "model")
        }
        let required = endpoint.requiredField
        guard let requiredMember = scan.member(required), requiredMember.kind != .null else {
            throw GatewayError(.badRequest, "Missing required parameter: '\(required)'.", param: required)
        }
        if endpoint == .responses {
            // A string (one user message) or a non-empty array of items.
            let empty =
                requiredMember.kind == .string
                ? requiredMember.valueRange.count <= 2 : isEmptyArray(body, requiredMember.valueRange)
            guard requiredMember.kind == .string || requiredMember.kind == .array,
                (try? JSONScanner.validate(body, in: requiredMember.valueRange)) != nil, !empty
            else {
                throw GatewayError(.badRequest, "'input' must be a non-empty string or array of items", param: "input")
            }
        } else if endpoint == .completions {
            guard requiredMember.kind == .string || requiredMember.kind == .array,
                (try? JSONScanner.validate(body, in: requiredMember.valueRange)) != nil
            else {
                throw GatewayError(.badRequest, "'prompt' must be a string or an array", param: "prompt")
            }
        } else if endpoint != .embeddings && endpoint != .moderations {
            guard requiredMember.kind == .array, requiredMember.valueRange.count > 2,
                (try? JSONScanner.validate(body, in: requiredMember.valueRange)) != nil,
                !isEmptyArray(body, requiredMember.valueRange)
            else {
                throw GatewayError(.badRequest, "'messages' must be a non-empty array", param: "messages")
            }
        }
        if endpoint == .messages {
            // Anthropic requires it; checked here so every target gives the same answer.
            guard let maxTokens = scan.member("max_tokens"), maxTokens.kind == .number,
                let value = JSONScanner.integer(body, at: maxTokens.valueRange), value >= 1
            else {
                throw GatewayError(
                    .badRequest, "max_tokens: Field required (a positive integer)", param: "max_tokens")
            }
        }
        try checkMembers(body, scan: scan)
        try checkIntegers(body, scan: scan, endpoint: endpoint)
        var stream = false
        if let streamMember = scan.member("stream"), streamMember.kind != .null {
            guard streamMember.kind == .bool else {
                throw GatewayError(.badRequest, "'stream' must be a boolean", param: "stream")
            }
            stream = body[streamMember.valueRange.lowerBound] == UInt8(ascii: "t")
            if stream && (endpoint == .embeddings || endpoint == .countTokens || endpoint == .moderations) {
                throw GatewayError(.badRequest, "'stream' is not supported on this endpoint", param: "stream")
            }
        }
        var wantsUsage = false
        if let options = scan.member("stream_options"), options.kind == .object,
            let optionsScan = try? JSONScanner.scanObject(body, in: options.valueRange),
            let include = optionsScan.member("include_usage"), include.kind == .bool
        {
            wantsUsage = body[include.valueRange.lowerBound] == UInt8(ascii: "t")
        }
        return RequestSummary(
            endpoint: endpoint, model: model, stream: stream, clientWantsStreamUsage: wantsUsage, scan: scan)
    }

    /// The JSON kinds allowed for well-known optional members (null is always allowed). Members
    /// not listed pass through unchecked; nested values are the translators' or the provider's.
    public static let memberKinds: [String: Set<JSONObjectScan.Kind>] = [
        "temperature": [.number], "top_p": [.number], "presence_penalty": [.number],
        "frequency_penalty": [.number], "logprobs": [.bool], "parallel_tool_calls": [.bool], "store": [.bool],
        "user": [.string], "reasoning_effort": [.string], "service_tier": [.string], "encoding_format": [.string],
        "tools": [.array], "stop_sequences": [.array], "response_format": [.object], "metadata": [.object],
        "stream_options": [.object], "thinking": [.object], "logit_bias": [.object],
        "tool_choice": [.string, .object], "stop": [.string, .array], "system": [.string, .array],
        "input": [.string, .array],
        // Responses.
        "previous_response_id": [.string], "instructions": [.string, .array], "background": [.bool],
        "text": [.object], "reasoning": [.object], "include": [.array], "truncation": [.string],
        "conversation": [.string, .object],
    ]

    /// Rejects invalid UTF-8, duplicate top-level members (the gateway and the provider could
    /// read different values) and well-known members of the wrong kind.
    private static func checkMembers(_ body: [UInt8], scan: JSONObjectScan) throws(GatewayError) {
        if let offset = JSONScanner.firstInvalidUTF8(body) {
            throw GatewayError(.badRequest, "The request body is not valid UTF-8 (at byte \(offset)).")
        }
        var seen = Set<String>()
        for member in scan.members {
            guard seen.insert(member.name).inserted else {
                throw GatewayError(
                    .badRequest, "The request body has the member '\(member.name)' more than once.", param: member.name)
            }
            if let kinds = memberKinds[member.name], member.kind != .null, !kinds.contains(member.kind) {
                let names = kinds.map { "\($0)" }.sorted().joined(separator: " or ")
                throw GatewayError(.badRequest, "'\(member.name)' must be of type \(names)", param: member.name)
            }
        }
    }

    /// Integer members the gateway reads (the token reservation, the translators) or that bound
    /// the work asked of a provider, with the range each must be in. A client sending
    /// `max_tokens: 9223372036854775807` ("no limit") gets a 400 naming the field, never a
    /// value that overflows later arithmetic.
    public static let boundedIntegers: [(name: String, range: ClosedRange<Int>)] = [
        ("max_tokens", 1...TokenUsage.maximumCount),
        ("max_completion_tokens", 1...TokenUsage.maximumCount),
        ("max_output_tokens", 1...TokenUsage.maximumCount),
        ("n", 1...128),
        ("top_k", 0...TokenUsage.maximumCount),
        ("top_logprobs", 0...20),
        ("seed", Int(Int64.min)...Int(Int64.max)),
        ("dimensions", 1...65_536),
    ]

    /// Each present, non-null member of `boundedIntegers` must be a plain JSON integer (no
    /// fraction, no exponent) within its range.
    private static func checkIntegers(
        _ body: [UInt8], scan: JSONObjectScan, endpoint: Endpoint
    ) throws(GatewayError) {
        for (name, range) in boundedIntegers {
            guard let member = scan.member(name), member.kind != .null else { continue }
            guard member.kind == .number, let value = JSONScanner.integer(body, at: member.valueRange),
                range.contains(value)
            else {
                let bounds =
                    range.upperBound == Int.max
                    ? "a 64-bit integer" : "an integer from \(range.lowerBound) to \(range.upperBound)"
                throw GatewayError(.badRequest, "'\(name)' must be \(bounds)", param: name)
            }
        }
        if endpoint == .messages || endpoint == .countTokens,
            let thinking = scan.member("thinking"), thinking.kind == .object,
            let thinkingScan = try? JSONScanner.scanObject(body, in: thinking.valueRange),
            let budget = thinkingScan.member("budget_tokens"), budget.kind != .null
        {
            guard budget.kind == .number, let value = JSONScanner.integer(body, at: budget.valueRange),
                (1...TokenUsage.maximumCount).contains(value)
            else {
                throw GatewayError(
                    .badRequest, "'thinking.budget_tokens' must be an integer from 1 to \(TokenUsage.maximumCount)",
                    param: "thinking")
            }
        }
    }

    /// The body to send upstream: `model` replaced by `upstreamModel`; for streams,
    /// `stream_options.include_usage` set to true.
    public static func rewrite(_ body: [UInt8], summary: RequestSummary, upstreamModel: String) -> [UInt8] {
        var edits: [(range: Range<Int>, replacement: [UInt8])] = []
        if let model = summary.scan.member("model") {
            edits.append((model.valueRange, JSONScanner.quoted(upstreamModel)))
        }
        if summary.endpoint == .chatCompletions || summary.endpoint == .completions, summary.stream,
            !summary.clientWantsStreamUsage
        {
            edits.append(contentsOf: forceIncludeUsage(body, scan: summary.scan))
        }
        edits.sort { $0.range.lowerBound > $1.range.lowerBound }
        var output = body
        for edit in edits {
            output.replaceSubrange(edit.range, with: edit.replacement)
        }
        return output
    }

    private static func forceIncludeUsage(_ body: [UInt8], scan: JSONObjectScan) -> [(Range<Int>, [UInt8])] {
        let includeUsage = Array(#""include_usage":true"#.utf8)
        if let options = scan.member("stream_options"), options.kind == .object,
            let optionsScan = try? JSONScanner.scanObject(body, in: options.valueRange)
        {
            if let include = optionsScan.member("include_usage") {
                return [(include.valueRange, Array("true".utf8))]
            }
            let insertAt = options.valueRange.lowerBound + 1
            let separator: [UInt8] = optionsScan.members.isEmpty ? [] : [UInt8(ascii: ",")]
            return [(insertAt..<insertAt, includeUsage + separator)]
        }
        let addition = Array(#""stream_options":{"include_usage":true}"#.utf8)
        if let options = scan.member("stream_options") {
            // Present but null (or another type the provider would reject anyway): replace it.
            return [(options.valueRange, Array(#"{"include_usage":true}"#.utf8))]
        }
        // Insert before the closing brace of the top-level object.
        guard let closing = body.lastIndex(of: UInt8(ascii: "}")) else { return [] }
        let separator: [UInt8] = scan.members.isEmpty ? [] : [UInt8(ascii: ",")]
        return [(closing..<closing, separator + addition)]
    }

    private static func isEmptyArray(_ body: [UInt8], _ range: Range<Int>) -> Bool {
        body[range].dropFirst().dropLast().allSatisfy { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
    }

    /// A Responses body continuing a stored chain: `items` (the chain) before the request's own
    /// `input`, and `previous_response_id` null, so that a provider that never saw the chain can
    /// continue it. Every other byte as sent.
    public static func inlining(_ items: [JSONValue], into body: [UInt8]) -> [UInt8] {
        guard let scan = try? JSONScanner.scanObject(body), let input = scan.member("input") else { return body }
        var all = items
        switch try? JSONScanner.parse(body, in: input.valueRange) {
        case .string(let text)?:
            all.append(
                .object(
                    JSONObject([
                        .init(key: "role", value: .string("user")), .init(key: "content", value: .string(text)),
                    ])))
        case .array(let own)?:
            all += own
        default:
            return body
        }
        var json = JSONWriter(capacity: body.count + 1024)
        json.value(.array(all))
        var edits: [(range: Range<Int>, replacement: [UInt8])] = [(input.valueRange, json.bytes)]
        if let previous = scan.member("previous_response_id") {
            edits.append((previous.valueRange, Array("null".utf8)))
        }
        var output = body
        for edit in edits.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
            output.replaceSubrange(edit.range, with: edit.replacement)
        }
        return output
    }

    /// Reads `usage` from a non-stream Responses body.
    public static func responsesUsage(inResponse body: [UInt8]) -> TokenUsage? {
        guard let scan = try? JSONScanner.scanObject(body), let usage = scan.member("usage"), usage.kind == .object,
            let value = try? JSONScanner.parse(body, in: usage.valueRange)
        else { return nil }
        return TokenUsage.responses(value)
    }

    /// Reads `usage` from a non-stream OpenAI response body.
    public static func usage(inResponse body: [UInt8]) -> TokenUsage? {
        guard let scan = try? JSONScanner.scanObject(body), let usage = scan.member("usage"), usage.kind == .object
        else { return nil }
        return TokenUsage.openAI(body, at: usage.valueRange)
    }
}

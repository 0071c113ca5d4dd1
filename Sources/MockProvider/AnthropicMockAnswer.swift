/// The deterministic answer to a Messages request, rendered as a `message` object or as stream events with
/// the same id, blocks and usage:
///
/// - thinking enabled: a `thinking` block first (`Thinking about: <last user text>`) with a signature;
/// - last user message has `tool_result` blocks: `Tool result received: <their text>`;
/// - tools given, `tool_choice` not `none`: a `tool_use` of the forced or first tool, input from its schema;
/// - otherwise `Hello! You said: <last user text>`, cut to `max_tokens` pieces (`stop_reason` `max_tokens`).
struct AnthropicMockAnswer {
    enum Block {
        case thinking(pieces: [String], signature: String)
        case text(pieces: [String])
        case toolUse(id: String, name: String, input: String)
    }

    var id: String
    var model: String
    var blocks: [Block] = []
    var stopReason = "end_turn"
    var inputTokens: Int
    var outputTokens = 0

    init(_ request: AnthropicMockRequest, messageID: String, toolUseID: String, signature: String) {
        id = messageID
        model = request.model
        inputTokens = request.inputTokens
        if request.thinking {
            let pieces = MockTokens.pieces(
                "Thinking about: "
                    + (request.lastUserText.isEmpty
                        ? "the tool result"
                        : request.lastUserText))
            blocks.append(.thinking(pieces: pieces, signature: signature))
            outputTokens += pieces.count
        }
        if request.toolResult == nil, let tool = request.tool {
            let input = OpenAIMockToolArguments.render(schema: tool.schema)
            blocks.append(.toolUse(id: toolUseID, name: tool.name, input: input))
            stopReason = "tool_use"
            outputTokens += MockTokens.count(tool.name) + MockTokens.count(input)
            return
        }
        let text: String
        if let result = request.toolResult {
            text = "Tool result received: " + result
        } else {
            text = request.lastUserText.isEmpty ? "Hello!" : "Hello! You said: " + request.lastUserText
        }
        var pieces = MockTokens.pieces(text)
        if request.maxTokens < pieces.count {
            pieces.removeLast(pieces.count - request.maxTokens)
            stopReason = "max_tokens"
        }
        blocks.append(.text(pieces: pieces))
        outputTokens += pieces.count
    }

    /// `usage` as captured: uncached input, cache counters, output, service tier.
    func usage(outputTokens: Int) -> String {
        #"{"input_tokens":\#(inputTokens),"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"#
            + #""cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"#
            + #""output_tokens":\#(outputTokens),"service_tier":"standard"}"#
    }

    private var head: String {
        #"{"model":"# + MockJSON.quoted(model) + #","id":"\#(id)","type":"message","role":"assistant","content":"#
    }

    /// The non-stream body, keys in the captured order.
    func object() -> String {
        var out = head + "["
        for (index, block) in blocks.enumerated() {
            if index > 0 { out += "," }
            switch block {
            case .thinking(let pieces, let signature):
                out += #"{"type":"thinking","thinking":"# + MockJSON.quoted(pieces.joined())
                out += #","signature":"# + MockJSON.quoted(signature) + "}"
            case .text(let pieces):
                out += #"{"type":"text","text":"# + MockJSON.quoted(pieces.joined()) + "}"
            case .toolUse(let id, let name, let input):
                out += #"{"type":"tool_use","id":"\#(id)","name":"# + MockJSON.quoted(name) + #","input":"# + input
                out += "}"
            }
        }
        out += #"],"stop_reason":"\#(stopReason)","stop_sequence":null,"usage":"# + usage(outputTokens: outputTokens)
        return out + "}"
    }

    /// `event: <type>\ndata: <json>\n\n` events: message_start, per block start/deltas/stop (a ping after the
    /// first start), message_delta with the cumulative usage, message_stop.
    func events() -> [String] {
        func event(_ type: String, _ data: String) -> String { "event: \(type)\ndata: \(data)\n\n" }
        func delta(_ index: Int, _ body: String) -> String {
            event("content_block_delta", #"{"type":"content_block_delta","index":\#(index),"delta":"# + body + "}")
        }
        var events = [
            event(
                "message_start",
                #"{"type":"message_start","message":"# + head + #"[],"stop_reason":null,"stop_sequence":null,"#
                    + #""usage":"# + usage(outputTokens: 1) + "}}"
            )
        ]
        for (index, block) in blocks.enumerated() {
            let start = #"{"type":"content_block_start","index":\#(index),"content_block":"#
            switch block {
            case .thinking(let pieces, let signature):
                events.append(
                    event("content_block_start", start + #"{"type":"thinking","thinking":"","signature":""}}"#))
                for piece in pieces {
                    events.append(delta(index, #"{"type":"thinking_delta","thinking":"# + MockJSON.quoted(piece) + "}"))
                }
                events.append(
                    delta(index, #"{"type":"signature_delta","signature":"# + MockJSON.quoted(signature) + "}"))
            case .text(let pieces):
                events.append(event("content_block_start", start + #"{"type":"text","text":""}}"#))
                for piece in pieces {
                    events.append(delta(index, #"{"type":"text_delta","text":"# + MockJSON.quoted(piece) + "}"))
                }
            case .toolUse(let id, let name, let input):
                events.append(
                    event(
                        "content_block_start",
                        start + #"{"type":"tool_use","id":"\#(id)","name":"# + MockJSON.quoted(name) + #","input":{}}}"#
                    )
                )
                for slice in [""] + MockTokens.slices(input, count: 3) {
                    events.append(
                        delta(index, #"{"type":"input_json_delta","partial_json":"# + MockJSON.quoted(slice) + "}"))
                }
            }
            if index == 0 { events.insert(event("ping", #"{"type": "ping"}"#), at: 2) }
            events.append(event("content_block_stop", #"{"type":"content_block_stop","index":\#(index)}"#))
        }
        events.append(
            event(
                "message_delta",
                #"{"type":"message_delta","delta":{"stop_reason":"\#(stopReason)","stop_sequence":null},"usage":"#
                    + #"{"input_tokens":\#(inputTokens),"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"#
                    + #""output_tokens":\#(outputTokens)}}"#
            )
        )
        events.append(event("message_stop", #"{"type":"message_stop"}"#))
        return events
    }
}

import Dialects
import GatewayCore
import Testing

@testable import Pipeline

/// `AnswerStreamGuard` on the SSE of each client dialect: an email and a card number split across
/// chunk boundaries at every byte position are never sent, the events stay well-formed, and
/// reversible placeholders split anywhere are restored.
@Suite struct GuardrailAnswerStreamTests {
    static let email = "jane.doe@example.com"
    static let card = "4111 1111 1111 1111"
    static let text = "Sure. Write to \(email) and charge \(card) today; \"quoted\"\nnext line."
    static let masked = "Sure. Write to [EMAIL_1] and charge [CARD_1] today; \"quoted\"\nnext line."

    static func json(_ text: String) -> String {
        String(decoding: JSONValue.string(text).bytes, as: UTF8.self)
    }

    static func guarding(
        _ dialect: ClientDialect, restoring: [(label: String, value: String)] = [], guardrails: Bool = true,
        action: GuardrailConfiguration.Action = .mask
    ) -> AnswerGuard {
        var book = PlaceholderBook()
        for entry in restoring { _ = book.placeholder(label: entry.label, value: entry.value, restorable: true) }
        var configuration = GuardrailConfiguration(name: "pii-out", kind: .pii)
        configuration.on = .response
        configuration.action = action
        return AnswerGuard(
            guardrails: guardrails ? [Guardrail(configuration)] : [], book: book, dialect: dialect)
    }

    /// Runs `transcript` through the guard in `chunk`-byte pieces.
    static func run(_ transcript: String, _ guarding: inout AnswerGuard, chunk: Int = 7) -> AnswerGuard.Output {
        var output = AnswerGuard.Output()
        let bytes = Array(transcript.utf8)
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + chunk)
            let piece = guarding.screenStream(Array(bytes[start..<end]))
            output.stored += piece.stored
            output.client += piece.client
            start = end
        }
        let rest = guarding.finishStream()
        output.stored += rest.stored
        output.client += rest.client
        return output
    }

    static func events(_ bytes: [UInt8]) -> [(name: String?, object: JSONObject?)] {
        var framer = SSEFramer()
        return framer.push(bytes + [0x0A, 0x0A]).filter { !$0.data.isEmpty }.map {
            ($0.name, JSONScanner.parseObject($0.data))
        }
    }

    // MARK: transcripts

    static func chat(_ pieces: [String]) -> String {
        let head = #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":["#
        var sse =
            "data: \(head){\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
        for piece in pieces {
            sse += "data: \(head){\"index\":0,\"delta\":{\"content\":\(json(piece))},\"finish_reason\":null}]}\n\n"
        }
        sse += "data: \(head){\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"
        return sse
    }

    static func chatText(_ bytes: [UInt8]) -> String {
        events(bytes).compactMap { $0.object?["choices"]?[0]?["delta"]?["content"]?.string }.joined()
    }

    static func messages(_ pieces: [String]) -> String {
        var sse = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"usage":{"input_tokens":3,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}


            """
        for piece in pieces {
            sse +=
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
                + "\"delta\":{\"type\":\"text_delta\",\"text\":\(json(piece))}}\n\n"
        }
        sse += """
            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}}

            event: message_stop
            data: {"type":"message_stop"}


            """
        return sse
    }

    static func messagesText(_ bytes: [UInt8]) -> String {
        events(bytes).filter { $0.object?["type"]?.string == "content_block_delta" }
            .compactMap { $0.object?["delta"]?["text"]?.string }.joined()
    }

    static func responses(_ pieces: [String]) -> String {
        var number = 0
        var sse = ""
        func event(_ type: String, _ fields: String) {
            sse += "event: \(type)\ndata: {\"type\":\"\(type)\",\(fields),\"sequence_number\":\(number)}\n\n"
            number += 1
        }
        let full = json(pieces.joined())
        event("response.created", #""response":{"id":"resp_1","object":"response","status":"in_progress","output":[]}"#)
        event(
            "response.output_item.added",
            #""output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","content":[]}"#)
        event(
            "response.content_part.added",
            #""item_id":"msg_1","output_index":0,"content_index":0,"part":{"type":"output_text","text":""}"#)
        for piece in pieces {
            event(
                "response.output_text.delta",
                #""item_id":"msg_1","output_index":0,"content_index":0,"delta":\#(json(piece)),"logprobs":[]"#)
        }
        event("response.output_text.done", #""item_id":"msg_1","output_index":0,"content_index":0,"text":\#(full)"#)
        event(
            "response.output_item.done",
            #""output_index":0,"item":{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"output_text","text":\#(full)}]}"#
        )
        event(
            "response.completed",
            #""response":{"id":"resp_1","object":"response","status":"completed","output":[{"id":"msg_1","type":"message","content":[{"type":"output_text","text":\#(full)}]}]}"#
        )
        return sse
    }

    static func responsesCheck(_ bytes: [UInt8], expected: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let all = events(bytes)
        let deltas = all.filter { $0.object?["type"]?.string == "response.output_text.delta" }
            .compactMap { $0.object?["delta"]?.string }.joined()
        #expect(deltas == expected, sourceLocation: sourceLocation)
        let done = all.first { $0.object?["type"]?.string == "response.output_text.done" }
        #expect(done?.object?["text"]?.string == expected, sourceLocation: sourceLocation)
        let completed = all.first { $0.object?["type"]?.string == "response.completed" }
        #expect(
            completed?.object?["response"]?["output"]?[0]?["content"]?[0]?["text"]?.string == expected,
            sourceLocation: sourceLocation)
        // Numbered 0, 1, 2, ... with the events the guard added.
        #expect(
            all.compactMap { $0.object?["sequence_number"]?.int } == Array(0..<all.count),
            sourceLocation: sourceLocation)
        // The event name of every line matches its type.
        for event in all { #expect(event.name == event.object?["type"]?.string, sourceLocation: sourceLocation) }
    }

    // MARK: tests

    @Test func chatCompletionChunksSplitAtEveryByteNeverLeak() {
        let bytes = Array(Self.text.utf8)
        for split in 0...bytes.count {
            let pieces = [
                String(decoding: bytes[..<split], as: UTF8.self), String(decoding: bytes[split...], as: UTF8.self),
            ]
            guard pieces.joined() == Self.text else { continue }  // a split inside a UTF-8 sequence
            var guarding = Self.guarding(.openAI)
            let output = Self.run(Self.chat(pieces), &guarding, chunk: 1 + split % 13)
            let client = String(decoding: output.client, as: UTF8.self)
            #expect(!client.contains(Self.email) && !client.contains(Self.card), "split at \(split)")
            #expect(Self.chatText(output.client) == Self.masked, "split at \(split)")
            #expect(output.stored == output.client)
            #expect(client.hasSuffix("data: [DONE]\n\n"))
            #expect(guarding.report.summary == "pii-out:card:mask=1,pii-out:email:mask=1")
        }
    }

    @Test func messagesEventsSplitAtEveryByteNeverLeak() {
        let bytes = Array(Self.text.utf8)
        for split in 0...bytes.count {
            let pieces = [
                String(decoding: bytes[..<split], as: UTF8.self), String(decoding: bytes[split...], as: UTF8.self),
            ]
            var guarding = Self.guarding(.anthropic)
            let output = Self.run(Self.messages(pieces), &guarding, chunk: 1 + split % 11)
            let client = String(decoding: output.client, as: UTF8.self)
            #expect(!client.contains(Self.email) && !client.contains(Self.card), "split at \(split)")
            #expect(Self.messagesText(output.client) == Self.masked, "split at \(split)")
            // The rest goes before the block's stop, inside the block.
            let types = Self.events(output.client).compactMap { $0.object?["type"]?.string }
            #expect(types.last == "message_stop")
            #expect(types.firstIndex(of: "content_block_stop")! > types.lastIndex(of: "content_block_delta")!)
        }
    }

    @Test func responsesEventsSplitAtEveryByteNeverLeakAndStayNumbered() {
        let bytes = Array(Self.text.utf8)
        for split in 0...bytes.count {
            let pieces = [
                String(decoding: bytes[..<split], as: UTF8.self), String(decoding: bytes[split...], as: UTF8.self),
            ]
            var guarding = Self.guarding(.responses)
            let output = Self.run(Self.responses(pieces), &guarding, chunk: 1 + split % 17)
            let client = String(decoding: output.client, as: UTF8.self)
            #expect(!client.contains(Self.email) && !client.contains(Self.card), "split at \(split)")
            Self.responsesCheck(output.client, expected: Self.masked)
            // The deltas are counted; the full texts of the done events are not counted again.
            #expect(guarding.report.summary == "pii-out:card:mask=1,pii-out:email:mask=1")
        }
    }

    @Test func aStreamByteByByteNeverLeaksInAnyPrefix() {
        let pieces = Self.text.map { String($0) }
        var guarding = Self.guarding(.openAI)
        var output: [UInt8] = []
        for byte in Self.chat(pieces).utf8 {
            let released = guarding.screenStream([byte]).client
            guard !released.isEmpty else { continue }
            output += released
            let sent = Self.chatText(output)
            #expect(!sent.contains(Self.email) && !sent.contains(Self.card))
            #expect(Self.masked.hasPrefix(sent))
        }
        #expect(Self.chatText(output) == Self.masked)
    }

    @Test func reversiblePlaceholdersSplitAnywhereAreRestoredForTheClientOnly() {
        let answer = "I will write to [EMAIL_1] now; [EMAIL_9] and [EMAIL_ stay."
        let restored = "I will write to jane@corp.example now; [EMAIL_9] and [EMAIL_ stay."
        let bytes = Array(answer.utf8)
        for dialect in [ClientDialect.openAI, .anthropic, .responses] {
            for split in 0...bytes.count {
                let pieces = [
                    String(decoding: bytes[..<split], as: UTF8.self), String(decoding: bytes[split...], as: UTF8.self),
                ]
                var guarding = Self.guarding(dialect, restoring: [("EMAIL", "jane@corp.example")], guardrails: false)
                switch dialect {
                case .openAI:
                    let output = Self.run(Self.chat(pieces), &guarding, chunk: 5)
                    #expect(Self.chatText(output.client) == restored, "split at \(split)")
                    #expect(Self.chatText(output.stored) == answer, "split at \(split)")
                case .anthropic:
                    let output = Self.run(Self.messages(pieces), &guarding, chunk: 5)
                    #expect(Self.messagesText(output.client) == restored, "split at \(split)")
                    #expect(Self.messagesText(output.stored) == answer, "split at \(split)")
                case .responses:
                    let output = Self.run(Self.responses(pieces), &guarding, chunk: 5)
                    Self.responsesCheck(output.client, expected: restored)
                    Self.responsesCheck(output.stored, expected: answer)
                }
            }
        }
    }

    @Test func toolCallArgumentsAreMaskedAndRestoredAsJSON() {
        let head = #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":"#
        let pieces = [#"{"to":"[EM"#, #"AIL_1]","card":"4111 1111"#, #" 1111 1111"}"#]
        var sse = ""
        for (index, piece) in pieces.enumerated() {
            let call =
                index == 0
                ? #"{"index":0,"id":"call_1","type":"function","function":{"name":"send","arguments":\#(Self.json(piece))}}"#
                : #"{"index":0,"function":{"arguments":\#(Self.json(piece))}}"#
            sse += "data: \(head){\"tool_calls\":[\(call)]},\"finish_reason\":null}]}\n\n"
        }
        sse += "data: \(head){},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n"
        var guarding = Self.guarding(.openAI, restoring: [("EMAIL", "a\"b@corp.example")])
        let output = Self.run(sse, &guarding, chunk: 9)
        func arguments(_ bytes: [UInt8]) -> String {
            Self.events(bytes).compactMap {
                $0.object?["choices"]?[0]?["delta"]?["tool_calls"]?[0]?["function"]?["arguments"]?.string
            }
            .joined()
        }
        // The restored value is escaped inside the arguments' own JSON: they still parse.
        let client = arguments(output.client)
        #expect(client == #"{"to":"a\"b@corp.example","card":"[CARD_1]"}"#)
        #expect(JSONScanner.parseObject(Array(client.utf8))?["to"]?.string == "a\"b@corp.example")
        #expect(arguments(output.stored) == #"{"to":"[EMAIL_1]","card":"[CARD_1]"}"#)
    }

    @Test func aRejectingGuardrailReleasesTheTextBeforeTheMatchAndStops() {
        var guarding = Self.guarding(.openAI, action: .reject)
        let output = Self.run(Self.chat(["Card: 4111 1111 ", "1111 1111 and more text"]), &guarding)
        let client = String(decoding: output.client, as: UTF8.self)
        #expect(!client.contains("4111"))
        #expect(!client.contains("[DONE]"))
        #expect(Self.chatText(output.client) == "Card: ")
        #expect(guarding.refusal == GuardrailRefusal(guardrail: "pii-out", entities: ["card"], side: .response))
    }

    @Test func aStreamThatEndsWithoutClosingItsTextStillGetsItsRest() {
        let head = #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":["#
        let sse =
            "data: \(head){\"index\":0,\"delta\":{\"content\":\"mail bob@corp.example\"},\"finish_reason\":null}]}\n\n"
        var guarding = Self.guarding(.openAI)
        let output = Self.run(sse, &guarding)
        #expect(Self.chatText(output.client) == "mail [EMAIL_1]")
        let last = Self.events(output.client).last?.object
        #expect(last?["id"]?.string == "c" && last?["model"]?.string == "m")
    }
}

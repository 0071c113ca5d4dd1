import Dialects
import GatewayCore

/// The answer side of the guardrails for one request (docs/guardrails.md, "Answers"): masks,
/// refuses or counts what the model's response-side guardrails find in the answer, and puts the
/// values of reversible placeholders back.
///
/// Every answer comes out in two versions: `stored` is masked and keeps the placeholders (what
/// the cache and the Responses store keep, so no state file ever holds a restored value, and a
/// cached answer is restored with the values of the request it serves); `client` is restored
/// (what the client reads). Without `restore: true` guardrails the two are the same.
struct AnswerGuard: Sendable {
    struct Output: Sendable, Equatable {
        var stored: [UInt8] = []
        var client: [UInt8] = []
    }

    private(set) var core: Core
    private var stream: AnswerStreamGuard?

    init(guardrails: [Guardrail], book: PlaceholderBook, dialect: ClientDialect) {
        core = Core(guardrails: guardrails, book: book, dialect: dialect)
        stream = nil
        self.dialect = dialect
    }

    let dialect: ClientDialect

    /// What the answer's guardrails found (the request's counts are the request stage's).
    var report: GuardrailReport { core.report }
    /// Set when an `action: reject` guardrail matched the answer.
    var refusal: GuardrailRefusal? { core.refusal }

    /// A whole JSON answer.
    mutating func screenBody(_ body: [UInt8]) -> Output {
        let output = core.screenJSON(body, counting: true)
        if core.refusal == nil && !core.schemas.isEmpty {
            for text in Self.answerTexts(output.client, dialect: dialect) { core.checkSchemas(text) }
        }
        return output
    }

    /// The texts of a whole answer a json_schema guardrail checks: each choice's message content
    /// (or completion text), a message's text blocks joined, a response's output text joined.
    static func answerTexts(_ body: [UInt8], dialect: ClientDialect) -> [String] {
        guard let answer = JSONScanner.parseObject(body) else { return [] }
        switch dialect {
        case .openAI:
            return (answer["choices"]?.array ?? []).compactMap {
                $0["message"]?["content"]?.string ?? $0["text"]?.string
            }
        case .anthropic:
            let texts = (answer["content"]?.array ?? []).filter { $0["type"]?.string == "text" }.compactMap {
                $0["text"]?.string
            }
            return texts.isEmpty ? [] : [texts.joined()]
        case .responses:
            let parts = (answer["output"]?.array ?? []).filter { $0["type"]?.string == "message" }
                .flatMap { $0["content"]?.array ?? [] }
            let texts = parts.filter { $0["type"]?.string == "output_text" }.compactMap { $0["text"]?.string }
            return texts.isEmpty ? [] : [texts.joined()]
        }
    }

    /// The stored version of a JSON answer the client gets otherwise (the final Responses object
    /// of a stream, kept for `previous_response_id`): masked, not counted again.
    mutating func stored(_ body: [UInt8]) -> [UInt8] {
        core.screenJSON(body, counting: false).stored
    }

    /// The next bytes of a streamed answer (SSE in the client's dialect, split anywhere).
    mutating func screenStream(_ bytes: [UInt8]) -> Output {
        var stream = self.stream ?? AnswerStreamGuard(dialect: dialect, restores: !core.restorer.isEmpty)
        let output = stream.push(bytes, core: &core)
        self.stream = stream
        return output
    }

    /// The end of a streamed answer: text still held back, in events of its own.
    mutating func finishStream() -> Output {
        guard var stream else { return Output() }
        let output = stream.finish(core: &core)
        self.stream = stream
        return output
    }

    /// The guardrails, placeholders and counts one answer is screened with.
    struct Core: Sendable {
        /// The guardrails that find spans (pii, regex), and those that check whole texts.
        let guardrails: [Guardrail]
        let schemas: [Guardrail]
        var book: PlaceholderBook
        var report = GuardrailReport()
        var refusal: GuardrailRefusal?
        /// Restorers for plain text and for text that is itself JSON (tool-call arguments).
        let restorer: PlaceholderRestorer
        let jsonRestorer: PlaceholderRestorer

        init(guardrails: [Guardrail], book: PlaceholderBook, dialect: ClientDialect) {
            self.guardrails = guardrails.filter(\.findsSpans)
            self.schemas = guardrails.filter { !$0.findsSpans }
            self.book = book
            restorer = PlaceholderRestorer(book.restorable, escapingForJSON: false)
            jsonRestorer = PlaceholderRestorer(book.restorable, escapingForJSON: true)
        }

        /// Checks one whole answer text with the json_schema guardrails.
        mutating func checkSchemas(_ text: String) {
            for guardrail in schemas {
                let configuration = guardrail.configuration
                let violation: String?
                if let value = JSONSchemaValidator.json(inAnswer: text) {
                    violation = guardrail.schema.map { $0.violation(value) } ?? "$: the schema did not load"
                } else {
                    violation = "$: not JSON"
                }
                guard let violation else { continue }
                report.count(guardrail: configuration.name, entity: "schema", action: configuration.action.rawValue)
                if configuration.action == .reject && refusal == nil {
                    refusal = GuardrailRefusal(
                        guardrail: configuration.name, entities: ["schema"], side: .response, detail: violation)
                }
            }
        }

        /// Keys whose string value is itself JSON text.
        static let jsonTextKeys: Set<String> = ["arguments", "partial_json", "input_json"]

        /// Every text of a JSON document masked and restored, each rewritten in place.
        mutating func screenJSON(_ body: [UInt8], counting: Bool) -> Output {
            var stored: [(range: Range<Int>, bytes: [UInt8])] = []
            var client: [(range: Range<Int>, bytes: [UInt8])] = []
            for text in JSONTextScanner.texts(body) {
                var masked = text.decoded
                if !guardrails.isEmpty {
                    let result = StreamingTextMasker.mask(
                        text.decoded, guardrails: guardrails, counting: counting, book: &book, report: &report)
                    if let refused = result.refusal {
                        refusal = refusal ?? refused
                        return Output(stored: body, client: body)
                    }
                    masked = result.text
                }
                var restoring = text.key.map(Self.jsonTextKeys.contains) == true ? jsonRestorer : restorer
                let restored = restoring.isEmpty ? masked : restoring.feed(masked) + restoring.finish()
                if masked != text.decoded { stored.append((text.literal, JSONStringContent.escaped(masked))) }
                if restored != text.decoded { client.append((text.literal, JSONStringContent.escaped(restored))) }
            }
            return Output(
                stored: stored.isEmpty ? body : JSONTextScanner.rewrite(body, stored),
                client: client.isEmpty ? body : JSONTextScanner.rewrite(body, client))
        }
    }
}

/// One text of a streamed answer (a choice's content, a tool call's arguments, a content block):
/// masked with a hold-back, then restored.
struct AnswerTextChannel: Sendable {
    var masker: StreamingTextMasker
    var restorer: PlaceholderRestorer
    /// Where the text goes in the client's events (the field, or the template of a delta event).
    let field: String
    let isJSON: Bool
    /// The answer's text so far, as the client reads it, when json_schema guardrails check it.
    private var checked: String?

    init(core: AnswerGuard.Core, field: String, isJSON: Bool, isAnswerText: Bool) {
        masker = StreamingTextMasker(guardrails: core.guardrails)
        restorer = isJSON ? core.jsonRestorer : core.restorer
        self.field = field
        self.isJSON = isJSON
        self.checked = isAnswerText && !core.schemas.isEmpty ? "" : nil
    }

    mutating func feed(_ text: String, core: inout AnswerGuard.Core) -> (stored: String, client: String) {
        let masked =
            core.guardrails.isEmpty
            ? Array(text.utf8) : masker.feed(Array(text.utf8), book: &core.book, report: &core.report)
        if let refused = masker.refusal { core.refusal = core.refusal ?? refused }
        let client = String(decoding: restorer.feed(masked), as: UTF8.self)
        checked? += client
        return (String(decoding: masked, as: UTF8.self), client)
    }

    mutating func finish(core: inout AnswerGuard.Core) -> (stored: String, client: String) {
        let masked = masker.finish(book: &core.book, report: &core.report)
        if let refused = masker.refusal { core.refusal = core.refusal ?? refused }
        let client = String(decoding: restorer.feed(masked) + restorer.finish(), as: UTF8.self)
        if let checked, core.refusal == nil { core.checkSchemas(checked + client) }
        return (String(decoding: masked, as: UTF8.self), client)
    }
}

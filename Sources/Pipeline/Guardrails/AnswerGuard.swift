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
        core = Core(guardrails: guardrails, book: book)
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
        core.screenJSON(body, counting: true)
    }

    /// The stored version of a JSON answer the client gets otherwise (the final Responses object
    /// of a stream, kept for `previous_response_id`): masked, not counted again.
    mutating func stored(_ body: [UInt8]) -> [UInt8] {
        core.screenJSON(body, counting: false).stored
    }

    /// The next bytes of a streamed answer (SSE in the client's dialect, split anywhere).
    mutating func screenStream(_ bytes: [UInt8]) -> Output {
        var stream = self.stream ?? AnswerStreamGuard(dialect: dialect)
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
        let guardrails: [Guardrail]
        var book: PlaceholderBook
        var report = GuardrailReport()
        var refusal: GuardrailRefusal?
        /// Restorers for plain text and for text that is itself JSON (tool-call arguments).
        let restorer: PlaceholderRestorer
        let jsonRestorer: PlaceholderRestorer

        init(guardrails: [Guardrail], book: PlaceholderBook) {
            self.guardrails = guardrails
            self.book = book
            restorer = PlaceholderRestorer(book.restorable, escapingForJSON: false)
            jsonRestorer = PlaceholderRestorer(book.restorable, escapingForJSON: true)
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

    init(core: AnswerGuard.Core, field: String, isJSON: Bool) {
        masker = StreamingTextMasker(guardrails: core.guardrails)
        restorer = isJSON ? core.jsonRestorer : core.restorer
        self.field = field
        self.isJSON = isJSON
    }

    mutating func feed(_ text: String, core: inout AnswerGuard.Core) -> (stored: String, client: String) {
        let masked =
            core.guardrails.isEmpty
            ? Array(text.utf8) : masker.feed(Array(text.utf8), book: &core.book, report: &core.report)
        if let refused = masker.refusal { core.refusal = core.refusal ?? refused }
        return (String(decoding: masked, as: UTF8.self), String(decoding: restorer.feed(masked), as: UTF8.self))
    }

    mutating func finish(core: inout AnswerGuard.Core) -> (stored: String, client: String) {
        let masked = masker.finish(book: &core.book, report: &core.report)
        if let refused = masker.refusal { core.refusal = core.refusal ?? refused }
        return (
            String(decoding: masked, as: UTF8.self),
            String(decoding: restorer.feed(masked) + restorer.finish(), as: UTF8.self)
        )
    }
}

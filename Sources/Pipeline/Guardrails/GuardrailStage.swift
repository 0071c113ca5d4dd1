import Dialects
import Foundation
import GatewayCore

/// A compiled `kind: regex` pattern. `NSRegularExpression` is documented as safe to use from
/// several threads at once.
final class CompiledPattern: @unchecked Sendable {
    let label: String
    let expression: NSRegularExpression

    init?(_ pattern: GuardrailConfiguration.Pattern) {
        guard let expression = try? NSRegularExpression(pattern: pattern.regex) else { return nil }
        let cleaned = pattern.label.uppercased().unicodeScalars.map { scalar -> Character in
            (("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)) ? Character(scalar) : "_"
        }
        self.label = cleaned.isEmpty ? "MATCH" : String(cleaned)
        self.expression = expression
    }

    func matches(in text: [UInt8]) -> [PIIMatch] {
        let string = String(decoding: text, as: UTF8.self)
        let utf16 = string.utf16
        return expression.matches(in: string, range: NSRange(location: 0, length: utf16.count)).compactMap { result in
            guard result.range.length > 0,
                let lower = utf16.index(utf16.startIndex, offsetBy: result.range.location, limitedBy: utf16.endIndex),
                let upper = utf16.index(lower, offsetBy: result.range.length, limitedBy: utf16.endIndex),
                let lowerUTF8 = lower.samePosition(in: string.utf8), let upperUTF8 = upper.samePosition(in: string.utf8)
            else { return nil }
            let start = string.utf8.distance(from: string.utf8.startIndex, to: lowerUTF8)
            let end = string.utf8.distance(from: string.utf8.startIndex, to: upperUTF8)
            return PIIMatch(range: start..<end, label: label, entity: nil)
        }
    }
}

/// One configured guardrail, ready to run.
struct Guardrail: Sendable {
    let configuration: GuardrailConfiguration
    let detector: PIIDetector?
    let patterns: [CompiledPattern]
    /// `kind: json_schema`: the schema the answer's text must match.
    let schema: JSONSchemaValidator?

    init(_ configuration: GuardrailConfiguration) {
        self.configuration = configuration
        self.detector = configuration.kind == .pii ? PIIDetector(entities: configuration.entities) : nil
        self.patterns = configuration.kind == .regex ? configuration.patterns.compactMap(CompiledPattern.init) : []
        self.schema = configuration.kind == .jsonSchema ? configuration.schema.flatMap(JSONSchemaValidator.init) : nil
    }

    /// Finds spans (pii, regex); a json_schema guardrail checks whole answers instead.
    var findsSpans: Bool { configuration.kind == .pii || configuration.kind == .regex }

    func matches(in text: [UInt8]) -> [PIIMatch] {
        if let detector { return detector.matches(in: text) }
        var found: [PIIMatch] = []
        for pattern in patterns {
            for match in pattern.matches(in: text) where !found.contains(where: { $0.range.overlaps(match.range) }) {
                found.append(match)
            }
        }
        return found.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }
}

/// What the guardrails found in one request: matches counted per guardrail, entity type (or
/// pattern label) and action, for the access log and the metrics. Never holds a matched value.
public struct GuardrailReport: Sendable, Equatable {
    public struct Key: Sendable, Hashable, Comparable {
        public var guardrail: String
        public var entity: String
        public var action: String

        public static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.guardrail, lhs.entity, lhs.action) < (rhs.guardrail, rhs.entity, rhs.action)
        }
    }

    public var counts: [Key: Int] = [:]

    public var isEmpty: Bool { counts.isEmpty }

    mutating func count(guardrail: String, entity: String, action: String) {
        counts[Key(guardrail: guardrail, entity: entity, action: action), default: 0] += 1
    }

    mutating func merge(_ other: GuardrailReport) {
        counts.merge(other.counts, uniquingKeysWith: +)
    }

    /// `pii:email:mask=2,pii:card:reject=1`: the access-log field.
    public var summary: String {
        counts.keys.sorted().map { "\($0.guardrail):\($0.entity):\($0.action)=\(counts[$0]!)" }.joined(separator: ",")
    }
}

/// The guardrail stage (docs/guardrails.md): after identification and admission and before the
/// cache and the attempt, it screens every text a request carries (message text, system prompts,
/// tool arguments and results) with the guardrails its model names, masking, refusing or only
/// counting what they find.
struct GuardrailStage: Sendable {
    let guardrails: [String: Guardrail]
    let assignment: GuardrailAssignment

    init(configuration: GatewayConfiguration) {
        var guardrails: [String: Guardrail] = [:]
        for entry in configuration.guardrails { guardrails[entry.name] = Guardrail(entry) }
        self.guardrails = guardrails
        self.assignment = GuardrailAssignment(configuration, runs: Set(guardrails.keys))
    }

    /// The outcome of screening a request body.
    struct Screened: Sendable {
        var body: [UInt8]
        var report = GuardrailReport()
        /// The request's placeholders; the answer continues its numbering and restores the
        /// `restore: true` ones (reversible masking).
        var book = PlaceholderBook()
        /// Set when an `action: reject` guardrail matched: the request is refused.
        var refusal: GuardrailRefusal?
    }

    func requestGuardrails(for model: String, caller: [String]) -> [Guardrail] {
        // `kind: classifier` guardrails run after these, asynchronously (`ClassifierStage`).
        assignment.names(model: model, caller: caller).compactMap { guardrails[$0] }.filter {
            $0.configuration.on.coversRequest && $0.findsSpans
        }
    }

    func responseGuardrails(for model: String, caller: [String]) -> [Guardrail] {
        assignment.names(model: model, caller: caller).compactMap { guardrails[$0] }.filter {
            $0.configuration.on.coversResponse && $0.configuration.kind != .classifier
        }
    }

    /// Screens `body` with the request-side guardrails of `model`. The first `action: reject`
    /// guardrail that matches stops the screening with a refusal that names the guardrail and the
    /// entity types, never a matched value.
    func screenRequest(_ body: [UInt8], model: String, caller: [String] = []) -> Screened {
        var screened = Screened(body: body)
        let applied = requestGuardrails(for: model, caller: caller)
        guard !applied.isEmpty else { return screened }
        for guardrail in applied {
            let texts = JSONTextScanner.texts(screened.body)
            var replacements: [(range: Range<Int>, bytes: [UInt8])] = []
            var rejected: Set<String> = []
            for text in texts {
                for match in guardrail.matches(in: text.decoded) {
                    let action = guardrail.configuration.action
                    screened.report.count(
                        guardrail: guardrail.configuration.name, entity: match.label.lowercased(),
                        action: action.rawValue)
                    switch action {
                    case .log: break
                    case .reject: rejected.insert(match.label.lowercased())
                    case .mask:
                        let value = String(decoding: text.decoded[match.range], as: UTF8.self)
                        let placeholder = screened.book.placeholder(
                            label: match.label, value: value, restorable: guardrail.configuration.restore)
                        replacements.append((text.bodyRange(match.range), Array(placeholder.utf8)))
                    }
                }
            }
            if !rejected.isEmpty {
                screened.refusal = GuardrailRefusal(
                    guardrail: guardrail.configuration.name, entities: rejected.sorted(), side: .request)
                return screened
            }
            if !replacements.isEmpty { screened.body = JSONTextScanner.rewrite(screened.body, replacements) }
        }
        return screened
    }

    /// The answer side for a screened request: its model's response-side guardrails and the
    /// placeholders to restore; nil when there is nothing to do on the answer (embeddings have no
    /// text to screen).
    func answerGuard(
        for model: String, caller: [String], endpoint: RequestInspection.Endpoint, screened: Screened,
        dialect: ClientDialect
    ) -> AnswerGuard? {
        guard endpoint != .embeddings else { return nil }
        let applied = responseGuardrails(for: model, caller: caller)
        guard !applied.isEmpty || !screened.book.restorable.isEmpty else { return nil }
        return AnswerGuard(guardrails: applied, book: screened.book, dialect: dialect)
    }
}

/// Which guardrails a request gets: its model's, then its caller's (a `callers:` entry's
/// `guardrails:`), each once, of those a stage runs.
struct GuardrailAssignment: Sendable {
    let byModel: [String: [String]]
    let runs: Set<String>

    init(_ configuration: GatewayConfiguration, runs: Set<String>) {
        var byModel: [String: [String]] = [:]
        for model in configuration.models {
            let names = model.guardrails.filter(runs.contains)
            if !names.isEmpty { byModel[model.name] = names }
        }
        self.byModel = byModel
        self.runs = runs
    }

    func names(model: String, caller: [String]) -> [String] {
        guard !caller.isEmpty else { return byModel[model] ?? [] }
        var names = byModel[model] ?? []
        for name in caller where runs.contains(name) && !names.contains(name) { names.append(name) }
        return names
    }

    func applies(model: String, caller: [String]) -> Bool {
        byModel[model] != nil || caller.contains(where: runs.contains)
    }
}

/// A request, or its answer, refused by a guardrail.
struct GuardrailRefusal: Sendable, Equatable {
    enum Side: String, Sendable {
        case request, response
    }

    let guardrail: String
    let entities: [String]
    var side: Side = .request
    /// What a json_schema guardrail found wrong (a path and what the schema wanted, no value).
    var detail: String?

    /// A 400 in the client's dialect with OpenAI `code` `guardrail_violation`; the Anthropic shape
    /// has no code, so the message starts with it. An answer refused is a 400 too (never a 5xx
    /// that an SDK would retry, paying for the same answer again).
    var error: GatewayError {
        GatewayError(
            .badRequest,
            "guardrail_violation: the \(side == .request ? "request" : "answer") was refused by guardrail "
                + "\"\(guardrail)\" (found: \(entities.joined(separator: ", "))\(detail.map { ": " + $0 } ?? ""))"
        ).withOpenAICode("guardrail_violation")
    }
}

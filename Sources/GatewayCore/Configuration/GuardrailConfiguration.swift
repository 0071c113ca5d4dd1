/// One entry of the top-level `guardrails:` list (docs/guardrails.md): a named check applied to the
/// requests (and, later, the answers) of the models that name it in their own `guardrails: [...]`.
public struct GuardrailConfiguration: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// The built-in PII and secret detectors.
        case pii
        /// Operator-supplied regular expressions (`patterns:`).
        case regex
        /// The answer's text must be JSON matching `schema:`.
        case jsonSchema = "json_schema"
        /// A verdict from one of llmgw's own models (`ClassifierConfiguration`).
        case classifier
    }

    /// Which side of the exchange the guardrail looks at.
    public enum Side: String, Sendable, CaseIterable {
        case request, response, both

        public var coversRequest: Bool { self != .response }
        public var coversResponse: Bool { self != .request }
    }

    public enum Action: String, Sendable, CaseIterable {
        /// Replace each match with a typed placeholder (`[EMAIL_1]`).
        case mask
        /// Refuse the request with `guardrail_violation`.
        case reject
        /// Only count the matches (access log and metrics).
        case log
    }

    /// What happens when the guardrail itself cannot decide (a classifier that is down).
    public enum Failure: String, Sendable, CaseIterable {
        case open, closed
    }

    /// The PII entity types of `kind: pii`, each switchable through `entities:`.
    public enum Entity: String, Sendable, CaseIterable, Comparable {
        case email, phone, card, ssn, iban, ip, secret

        public static func < (lhs: Entity, rhs: Entity) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }

        /// The placeholder's label: `[EMAIL_1]`.
        public var label: String { rawValue.uppercased() }
    }

    public var name: String
    public var kind: Kind
    public var on: Side = .request
    public var action: Action = .mask
    public var failure: Failure = .closed
    /// `kind: pii`: the entity types looked for (all by default).
    public var entities: [Entity] = Entity.allCases
    /// `action: mask` on requests: the answer gets the masked values back in place of their
    /// placeholders, for this request only (reversible masking); the provider never sees them.
    public var restore = false
    /// `kind: json_schema`: the schema, as JSON text.
    public var schema: [UInt8]?
    /// `kind: regex`: the patterns, each with the label of its placeholder.
    public var patterns: [Pattern] = []
    /// `kind: classifier`: the model asked and how.
    public var classifier = ClassifierConfiguration()

    public struct Pattern: Sendable, Equatable {
        public var label: String
        public var regex: String

        public init(label: String, regex: String) {
            self.label = label
            self.regex = regex
        }
    }

    public init(name: String, kind: Kind) {
        self.name = name
        self.kind = kind
    }
}

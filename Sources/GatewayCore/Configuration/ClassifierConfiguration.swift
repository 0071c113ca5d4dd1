/// The settings of a `kind: classifier` guardrail (docs/guardrails.md): the request text is
/// screened by one of llmgw's own models, a Llama Guard style chat model or an OpenAI-compatible
/// moderation model.
public struct ClassifierConfiguration: Sendable, Equatable {
    /// How the classifier model is asked.
    public enum API: String, Sendable, CaseIterable {
        /// A Llama Guard 3 style prompt through `/v1/chat/completions`; the verdict is the answer's
        /// first line (`safe` / `unsafe`) and second line (the categories).
        case chat
        /// OpenAI `POST /v1/moderations`; the verdict is `results[0].flagged` and `.categories`.
        case moderation
    }

    /// The llmgw model alias that classifies (`models[].name`).
    public var model: String = ""
    public var api: API = .chat
    /// How long a request waits for the verdict; past it the `failure` policy decides.
    public var timeout: Duration = .seconds(2)
    /// Only these categories count (Llama Guard codes like `S1`, or moderation category names);
    /// empty: any flagged category counts.
    public var categories: [String] = []
    /// How long a verdict is kept in process, by SHA-256 of the screened text; zero disables.
    public var cacheTTL: Duration = .seconds(300)

    /// The longest accepted `timeout`.
    public static let maximumTimeout: Duration = .seconds(30)

    public init() {}

    /// A Llama Guard category code: `S1` … `S99`.
    public static func isLlamaGuardCode(_ text: String) -> Bool {
        let digits = text.utf8.dropFirst()
        return text.utf8.first == UInt8(ascii: "S") && (1...2).contains(digits.count)
            && digits.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }
}

import GatewayCore

/// Entry points for `scripts/bench-guardrails` (llmgw-bench-guardrails): the stage's own work on a
/// body, without a pipeline around it.
public enum GuardrailBenchmark {
    /// Screens `body` as the request stage does for a model naming every guardrail of
    /// `guardrails`; returns the body sent upstream and the number of matches.
    public static func screenRequest(_ body: [UInt8], guardrails: [GuardrailConfiguration]) -> ([UInt8], Int) {
        var configuration = GatewayConfiguration()
        configuration.guardrails = guardrails
        var model = ModelConfiguration(name: "bench", targets: [])
        model.guardrails = guardrails.map(\.name)
        configuration.models = [model]
        let screened = GuardrailStage(configuration: configuration).screenRequest(body, model: "bench")
        return (screened.body, screened.report.counts.values.reduce(0, +))
    }

    /// Runs `pieces` through the stream masker of `guardrail`; returns the bytes released.
    public static func maskStream(_ pieces: [[UInt8]], guardrail: GuardrailConfiguration) -> Int {
        var masker = StreamingTextMasker(guardrails: [Guardrail(guardrail)])
        var (book, report) = (PlaceholderBook(), GuardrailReport())
        var released = 0
        for piece in pieces { released += masker.feed(piece, book: &book, report: &report).count }
        return released + masker.finish(book: &book, report: &report).count
    }
}

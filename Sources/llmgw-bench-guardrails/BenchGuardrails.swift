import GatewayCore
import Pipeline

/// `scripts/bench-guardrails`: the PII stage's added time per request on a 4 KB chat prompt
/// (with and without entities in it), and the stream masker's cost per delta.
@main
struct BenchGuardrails {
    static func main() {
        let iterations = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 2000
        let guardrail = GuardrailConfiguration(name: "pii", kind: .pii)
        let sentence = "The quarterly report covers revenue, churn and the roadmap for the next release. "
        var clean = ""
        while clean.utf8.count < 4096 - 200 { clean += sentence }
        let dirty =
            clean + "Mail jane.doe@example.com, card 4111 1111 1111 1111, call +14155550123, IBAN "
            + "DE89370400440532013000."
        for (label, text) in [("4KB clean", clean), ("4KB with 4 entities", dirty)] {
            let body = Array(
                (#"{"model":"bench","messages":[{"role":"system","content":"Be brief."},"#
                    + #"{"role":"user","content":"\#(text)"}]}"#).utf8)
            var matches = 0
            _ = GuardrailBenchmark.screenRequest(body, guardrails: [guardrail])
            let start = ContinuousClock.now
            for _ in 0..<iterations { matches = GuardrailBenchmark.screenRequest(body, guardrails: [guardrail]).1 }
            let perRequest = (ContinuousClock.now - start) / iterations
            print("request stage, \(label) (\(body.count) bytes, \(matches) matches): \(perRequest) per request")
        }
        // A streamed answer of 4 KB in 5-byte deltas (about a token each).
        let answer = Array(dirty.utf8)
        let pieces = stride(from: 0, to: answer.count, by: 5).map { Array(answer[$0..<min($0 + 5, answer.count)]) }
        let rounds = max(1, iterations / 10)
        let start = ContinuousClock.now
        for _ in 0..<rounds { _ = GuardrailBenchmark.maskStream(pieces, guardrail: guardrail) }
        let perDelta = (ContinuousClock.now - start) / (rounds * pieces.count)
        print("stream masker: \(pieces.count) deltas of 5 bytes, \(perDelta) per delta")
    }
}

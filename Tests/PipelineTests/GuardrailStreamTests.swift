import GatewayCore
import Testing

@testable import Pipeline

/// `StreamingTextMasker`: an entity split across stream pieces at any byte is never released.
@Suite struct GuardrailStreamTests {
    static let text =
        "Sure. Write to jane.doe@example.com and charge 4111 1111 1111 1111 today; "
        + "the receipt goes to jane.doe@example.com too."
    static let masked =
        "Sure. Write to [EMAIL_1] and charge [CARD_1] today; the receipt goes to [EMAIL_1] too."

    /// A masker with its own placeholder book and report.
    struct Masker {
        var masker = StreamingTextMasker(guardrails: [Guardrail(GuardrailConfiguration(name: "pii-out", kind: .pii))])
        var book = PlaceholderBook()
        var report = GuardrailReport()

        mutating func feed(_ piece: [UInt8]) -> [UInt8] { masker.feed(piece, book: &book, report: &report) }
        mutating func finish() -> [UInt8] { masker.finish(book: &book, report: &report) }
    }

    static func masker() -> Masker { Masker() }

    @Test func anEntitySplitInTwoAtEveryBytePositionIsNeverReleased() {
        let bytes = Array(Self.text.utf8)
        for split in 0...bytes.count {
            var masker = Self.masker()
            var output = masker.feed(Array(bytes[..<split]))
            output += masker.feed(Array(bytes[split...]))
            output += masker.finish()
            let answer = String(decoding: output, as: UTF8.self)
            #expect(answer == Self.masked, "split at \(split)")
        }
    }

    @Test func byteByByteNothingLeaksAndAtMostTheHoldBackIsHeld() {
        var masker = Self.masker()
        var output: [UInt8] = []
        var fed = 0
        for byte in Self.text.utf8 {
            output += masker.feed([byte])
            fed += 1
            let released = String(decoding: output, as: UTF8.self)
            #expect(!released.contains("jane.doe@example.com") && !released.contains("4111 1111 1111 1111"))
            // What is released is a prefix of the masked text, held back by at most `holdBack`
            // bytes of the original (less when a match straddles the cut).
            #expect(Self.masked.hasPrefix(released))
        }
        output += masker.finish()
        #expect(String(decoding: output, as: UTF8.self) == Self.masked)
        #expect(masker.report.summary == "pii-out:card:mask=1,pii-out:email:mask=2")
    }

    @Test func proseIsReleasedAsItComesHoldingOnlyTheWordBeingWritten() {
        var masker = Self.masker()
        let filler = Array(String(repeating: "lorem ipsum ", count: 40).utf8)
        // A space ends every word: nothing could still grow into an entity but the space itself.
        var released = masker.feed(filler)
        #expect(released.count >= filler.count - 1)
        released += masker.feed(Array("and dolo".utf8))
        #expect(String(decoding: released, as: UTF8.self).hasSuffix("lorem ipsum and "))
        #expect(masker.finish() == Array("dolo".utf8))
    }

    @Test func aRunOfDigitsOrAnOperatorPatternHoldsUpToTheBound() {
        var masker = Self.masker()
        let digits = Array(("call " + String(repeating: "1234 ", count: 40)).utf8)
        let released = masker.feed(digits)
        #expect(released.count == digits.count - StreamingTextMasker.holdBack)
        var pattern = GuardrailConfiguration(name: "tickets", kind: .regex)
        pattern.patterns = [.init(label: "ticket", regex: "TCK-[0-9]+")]
        var regex = StreamingTextMasker(guardrails: [Guardrail(pattern)])
        var (book, report) = (PlaceholderBook(), GuardrailReport())
        let filler = Array(String(repeating: "lorem ipsum ", count: 40).utf8)
        #expect(regex.feed(filler, book: &book, report: &report).count == filler.count - StreamingTextMasker.holdBack)
    }

    /// Every positive of the corpus, in prose, streamed in pieces of every size from 1 to 9 bytes:
    /// never released, and masked as the whole text is.
    @Test func everyCorpusEntityStreamedInPiecesOfAnySizeIsMaskedAsTheWholeText() {
        for (entity, examples) in GuardrailCorpus.positives {
            for example in examples {
                let text = Array("Here it is: \(example.text) and that is all.".utf8)
                var (book, report) = (PlaceholderBook(), GuardrailReport())
                let whole = StreamingTextMasker.mask(
                    text, guardrails: [Guardrail(GuardrailConfiguration(name: "pii", kind: .pii))], counting: false,
                    book: &book, report: &report
                ).text
                for size in 1...9 {
                    var masker = Self.masker()
                    var output: [UInt8] = []
                    var start = 0
                    while start < text.count {
                        output += masker.feed(Array(text[start..<min(text.count, start + size)]))
                        let sent = String(decoding: output, as: UTF8.self)
                        #expect(!sent.contains(example.value ?? ""), "\(entity) \(example.text) by \(size)")
                        start += size
                    }
                    output += masker.finish()
                    #expect(output == whole, "\(entity): \(example.text) by \(size)")
                }
            }
        }
    }
}

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

    @Test func aLongTextIsReleasedAsItComesWithABoundedTail() {
        var masker = Self.masker()
        let filler = Array(String(repeating: "lorem ipsum ", count: 40).utf8)
        let released = masker.feed(filler)
        #expect(released.count == filler.count - StreamingTextMasker.holdBack)
        #expect(masker.finish().count == StreamingTextMasker.holdBack)
    }
}

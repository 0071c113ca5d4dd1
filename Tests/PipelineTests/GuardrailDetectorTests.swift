import GatewayCore
import Testing

@testable import Pipeline

/// The built-in PII detectors against `GuardrailCorpus`, and the JSON text scanner that lets the
/// guardrail stage rewrite request bodies in place.
@Suite struct GuardrailDetectorTests {
    typealias Entity = GuardrailConfiguration.Entity

    static func found(_ text: String) -> [(entity: Entity, value: String)] {
        let bytes = Array(text.utf8)
        return PIIDetector().matches(in: bytes).map {
            ($0.entity!, String(decoding: bytes[$0.range], as: UTF8.self))
        }
    }

    /// Precision and recall per entity type over the whole corpus (every text is scanned for every
    /// type, so a phone found in an IBAN example counts against phones). Printed for the record;
    /// the corpus is expected to be all found and nothing else.
    @Test func theCorpusIsFoundWithFullPrecisionAndRecall() {
        var truePositives: [Entity: Int] = [:]
        var falseNegatives: [Entity: [String]] = [:]
        var falsePositives: [Entity: [String]] = [:]
        var texts: [(text: String, expected: (Entity, String)?)] = []
        for (entity, examples) in GuardrailCorpus.positives {
            for example in examples { texts.append((example.text, (entity, example.value!))) }
        }
        for (_, examples) in GuardrailCorpus.negatives { for text in examples { texts.append((text, nil)) } }
        for (text, expected) in texts {
            var hit = false
            for match in Self.found(text) {
                if let expected, match.entity == expected.0, match.value == expected.1 {
                    hit = true
                } else {
                    falsePositives[match.entity, default: []].append("\(match.value) in \(text)")
                }
            }
            if let expected {
                if hit {
                    truePositives[expected.0, default: 0] += 1
                } else {
                    falseNegatives[expected.0, default: []].append(text)
                }
            }
        }
        for entity in Entity.allCases {
            let tp = Double(truePositives[entity] ?? 0)
            let fp = Double(falsePositives[entity]?.count ?? 0)
            let fn = Double(falseNegatives[entity]?.count ?? 0)
            let precision = tp + fp == 0 ? 1 : tp / (tp + fp)
            let recall = tp + fn == 0 ? 1 : tp / (tp + fn)
            print("guardrail corpus \(entity.rawValue): precision \(precision) recall \(recall) (tp \(Int(tp)))")
            #expect(falsePositives[entity] == nil, "\(entity): false positives \(falsePositives[entity] ?? [])")
            #expect(falseNegatives[entity] == nil, "\(entity): missed \(falseNegatives[entity] ?? [])")
            #expect(tp >= 3)
        }
    }

    @Test func eachEntityTypeCanBeSwitchedOff() {
        let text = Array("mail a@example.com or card 4111 1111 1111 1111".utf8)
        #expect(PIIDetector(entities: [.card]).matches(in: text).map(\.label) == ["CARD"])
        #expect(PIIDetector(entities: [.email]).matches(in: text).map(\.label) == ["EMAIL"])
        #expect(PIIDetector(entities: []).matches(in: text).isEmpty)
    }

    @Test func luhnAndMod97AreTheChecksumsUsed() {
        #expect(PIIDetector.luhn(Array("79927398713".utf8)))
        #expect(!PIIDetector.luhn(Array("79927398710".utf8)))
        #expect(PIIDetector.mod97(Array("GB82WEST12345698765432".utf8)) == 1)
        #expect(PIIDetector.mod97(Array("GB82WEST12345698765433".utf8)) != 1)
    }

    @Test func theScannerDecodesEscapesAndMapsEveryByteBackToTheBody() throws {
        let body = Array(
            #"{"model":"a@b.example","messages":[{"role":"user","content":"caf\u00e9 \"x@y.example\"\n"}]}"#.utf8)
        let texts = JSONTextScanner.texts(body)
        // The model's value is structural: never scanned.
        #expect(texts.count == 1)
        let text = try #require(texts.first)
        #expect(String(decoding: text.decoded, as: UTF8.self) == "café \"x@y.example\"\n")
        let match = try #require(PIIDetector().matches(in: text.decoded).first)
        let range = text.bodyRange(match.range)
        #expect(String(decoding: body[range], as: UTF8.self) == "x@y.example")
        let rewritten = JSONTextScanner.rewrite(body, [(range, Array("[EMAIL_1]".utf8))])
        #expect(
            String(decoding: rewritten, as: UTF8.self)
                == #"{"model":"a@b.example","messages":[{"role":"user","content":"caf\u00e9 \"[EMAIL_1]\"\n"}]}"#)
    }
}

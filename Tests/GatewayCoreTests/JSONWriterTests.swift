import GatewayCore
import Testing

@Suite struct JSONWriterTests {
    private func text(_ body: (inout JSONWriter) -> Void) -> String {
        var json = JSONWriter()
        body(&json)
        return String(decoding: json.bytes, as: UTF8.self)
    }

    @Test func escapesQuotesBackslashesAndControlCharacters() {
        let written = text { $0.string("say \"hi\"\\ \n\r\t\u{0}\u{1}\u{1F}\u{7F}") }
        #expect(written == #""say \"hi\"\\ \n\r\t\u0000\u0001\u001f\#u{7F}""#)
    }

    @Test func writesUnicodeAsUTF8() {
        let written = text { $0.string("héllo — 日本 🎉") }
        #expect(written == "\"héllo — 日本 🎉\"")
        #expect(text { $0.string("\u{2028}") } == "\"\u{2028}\"")
    }

    @Test func escapesKeysToo() {
        #expect(text { json in json.object { $0.field("a\"b", "c") } } == #"{"a\"b":"c"}"#)
    }

    @Test func nestsObjectsAndArraysWithCommasInTheRightPlaces() {
        let written = text { json in
            json.object {
                $0.field("id", "x")
                $0.key("attempts")
                $0.array {
                    $0.object {
                        $0.field("target", "openai/gpt-4o")
                        $0.field("status", 200)
                    }
                    $0.object { _ in }
                    $0.int(3)
                    $0.null()
                    $0.array { _ in }
                }
                $0.field("stream", true)
                $0.field("missing", nil as Int?)
                $0.field("absent", nil as String?)
                $0.key("raw")
                $0.raw(Array(#"{"a":[1,2]}"#.utf8))
                $0.key("last")
                $0.bool(false)
            }
        }
        #expect(
            written
                == #"{"id":"x","attempts":[{"target":"openai/gpt-4o","status":200},{},3,null,[]],"stream":true,"#
                + #""missing":null,"absent":null,"raw":{"a":[1,2]},"last":false}"#)
    }

    @Test(arguments: [
        (812.4, 1, "812.4"),
        (815.25, 1, "815.3"),
        (0.000312, 6, "0.000312"),
        (2.0, 3, "2"),
        (1.5, 3, "1.5"),
        (0, 2, "0"),
        (-0.5, 1, "-0.5"),
        (-0.0001, 2, "0"),
        (1234567.891, 2, "1234567.89"),
        (0.1, 0, "0"),
        (99.96, 1, "100"),
        (Double.nan, 2, "null"),
        (Double.infinity, 2, "null"),
    ])
    func formatsDoubles(_ value: Double, _ decimals: Int, _ expected: String) {
        #expect(text { $0.double(value, decimals: decimals) } == expected)
        #expect(text { json in json.object { $0.field("v", value, decimals: decimals) } } == "{\"v\":\(expected)}")
    }

    @Test func writesIntegersAtTheirExtremes() {
        #expect(
            text { json in
                json.array {
                    $0.int(Int.min); $0.int(0); $0.int(Int.max)
                }
            }
                == "[\(Int.min),0,\(Int.max)]")
    }

    @Test func hugeFixedDecimalNumbersNeverTrap() {
        #expect(text { $0.double(1e300, decimals: 6) } == "1e+300")
        #expect(text { $0.double(-9.3e12, decimals: 6) } == "-9300000000000.0")
        #expect(text { $0.double(9e11, decimals: 6) } == "900000000000")
        #expect(text { $0.double(.infinity, decimals: 6) } == "null")
    }
}

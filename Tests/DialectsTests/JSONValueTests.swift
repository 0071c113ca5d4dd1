import Testing

@testable import Dialects

@Suite struct JSONValueTests {
    @Test func keepsMemberOrderAndNumberText() throws {
        let text = #"{"zeta":1.0,"alpha":12345678901234567890,"mid":[true,false,null,-0.5e+10],"e":"\u00e9\n"}"#
        let value = try JSONScanner.parse(Array(text.utf8))
        let object = try #require(value.object)
        #expect(object.members.map(\.key) == ["zeta", "alpha", "mid", "e"])
        #expect(value["zeta"] == .number("1.0"))
        #expect(value["alpha"]?.numberText == "12345678901234567890")
        #expect(value["mid"] == .array([.bool(true), .bool(false), .null, .number("-0.5e+10")]))
        #expect(value["e"]?.string == "é\n")
        // Written back in the same order, numbers exactly as sent; only the string escape changes form.
        #expect(
            String(decoding: value.bytes, as: UTF8.self)
                == #"{"zeta":1.0,"alpha":12345678901234567890,"mid":[true,false,null,-0.5e+10],"e":"é\n"}"#)
    }

    @Test func readsNumbersAndBoolsAsWhatTheyAre() throws {
        let value = try JSONScanner.parse(
            Array(#"[1, 3.0, 1e3, 3.5, 12345678901234567890, -9223372036854775808, true, "1", 9e15]"#.utf8))
        #expect(value[0]?.int == 1)
        #expect(value[1]?.int == 3)
        #expect(value[2]?.int == 1000)
        #expect(value[3]?.int == nil)
        #expect(value[3]?.double == 3.5)
        #expect(value[4]?.int == nil)
        #expect(value[4]?.int64 == nil)
        #expect(value[4]?.double == 1.234_567_890_123_456_789_0e19)
        #expect(value[5]?.int64 == Int64.min)
        #expect(value[6]?.bool == true)
        #expect(value[6]?.int == nil)
        #expect(value[0]?.bool == nil)
        #expect(value[7]?.int == nil)
        #expect(value[7]?.string == "1")
        #expect(value[8]?.int == nil)
        #expect(value[9] == nil)
        #expect(value["key"] == nil)
    }

    @Test func takesTheLastDuplicateMember() throws {
        let value = try JSONScanner.parse(Array(#"{"model":"a","model":"b"}"#.utf8))
        #expect(value["model"]?.string == "b")
        #expect(value.object?.members.count == 2)
    }

    @Test(arguments: [
        "", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":tru}",
        "{\"a\":\"\u{01}\"}", "{\"a\":\"\\x\"}", "{\"a\":1} x", "{\"a\":[1,]}", "{\"a\":\"\\u12G4\"}", "{'a':1}",
        "[1", "[1 2]", "-", "1e", "nul", "\"open",
    ])
    func refusesWhatValidateRefusesWithTheSameError(_ text: String) {
        let bytes = Array(text.utf8)
        var validateError: JSONScanError?
        do { try JSONScanner.validate(bytes) } catch { validateError = error }
        var parseError: JSONScanError?
        do { _ = try JSONScanner.parse(bytes) } catch { parseError = error }
        #expect(validateError != nil)
        #expect(parseError == validateError)
    }

    @Test(arguments: [
        #"{}"#, #"[]"#, #"{"a":-0.5e+10}"#, #"{"a":[[],{}],"b":"\u00e9\ud83d\ude00\n"}"#, " {\"a\" : [ 1 , 2 ] } \n",
        "\"text\"", "0", "null",
    ])
    func acceptsWhatValidateAccepts(_ text: String) throws {
        let bytes = Array(text.utf8)
        try JSONScanner.validate(bytes)
        let value = try JSONScanner.parse(bytes)
        // The compact form reads back as the same tree.
        #expect(try JSONScanner.parse(value.bytes) == value)
    }

    @Test func limitsNestingDepthLikeValidate() throws {
        func nested(_ depth: Int) -> [UInt8] {
            Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth)).utf8)
        }
        let deepest = JSONScanner.maximumDepth - 1
        try JSONScanner.validate(nested(deepest))
        _ = try JSONScanner.parse(nested(deepest))
        #expect(throws: JSONScanError.self) { try JSONScanner.validate(nested(deepest + 1)) }
        #expect(throws: JSONScanError.self) { try JSONScanner.parse(nested(deepest + 1)) }
        #expect(throws: JSONScanError.self) { try JSONScanner.parse(nested(10_000)) }
    }

    @Test func parsesARange() throws {
        let body = Array(#"{"usage":{"b":2,"a":1}}"#.utf8)
        let usage = try #require(try JSONScanner.scanObject(body).member("usage"))
        let value = try JSONScanner.parse(body, in: usage.valueRange)
        #expect(value.object?.members.map(\.key) == ["b", "a"])
        #expect(JSONScanner.parseObject(Array("[1]".utf8)) == nil)
        #expect(JSONScanner.parseObject(Array("{} {}".utf8)) == nil)
    }
}

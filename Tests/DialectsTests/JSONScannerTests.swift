import Testing

@testable import Dialects

@Suite struct JSONScannerTests {
    @Test func recordsTopLevelMembersWithRanges() throws {
        let body = Array(#"{"model" : "gpt-4o", "n":1,"messages":[{"a":"}"}],"stream":true,"x":null}"#.utf8)
        let scan = try JSONScanner.scanObject(body)
        #expect(scan.members.map(\.name) == ["model", "n", "messages", "stream", "x"])
        let model = try #require(scan.member("model"))
        #expect(Array(body[model.valueRange]).text == #""gpt-4o""#)
        #expect(JSONScanner.string(body, at: model.valueRange) == "gpt-4o")
        #expect(scan.member("messages")?.kind == .array)
        #expect(scan.member("stream")?.kind == .bool)
        #expect(scan.member("x")?.kind == .null)
        #expect(JSONScanner.integer(body, at: scan.member("n")!.valueRange) == 1)
    }

    @Test(arguments: [
        "", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "[1]", "{\"a\":01}", "{\"a\":1.}", "{\"a\":tru}",
        "{\"a\":\"\u{01}\"}", "{\"a\":\"\\x\"}", "{\"a\":1} x", "{\"a\":[1,]}", "{\"a\":\"\\u12G4\"}", "{'a':1}",
    ])
    func rejectsMalformedJSON(_ text: String) {
        #expect(throws: JSONScanError.self) { try JSONScanner.scanObject(Array(text.utf8)) }
    }

    @Test(arguments: [
        #"{}"#, #"{"a":-0.5e+10}"#, #"{"a":[[],{}],"b":"\u00e9\ud83d\ude00\n"}"#, " {\"a\" : [ 1 , 2 ] } \n",
    ])
    func acceptsValidJSON(_ text: String) throws {
        _ = try JSONScanner.scanObject(Array(text.utf8))
    }

    @Test func decodesEscapesInStrings() throws {
        let body = Array(#"{"k":"a\"b\\c\n\u00e9\ud83d\ude00"}"#.utf8)
        let scan = try JSONScanner.scanObject(body)
        #expect(JSONScanner.string(body, at: scan.member("k")!.valueRange) == "a\"b\\c\né😀")
    }

    @Test func limitsNestingDepth() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONScanError.self) { try JSONScanner.scanObject(Array("{\"a\":\(deep)}".utf8)) }
    }

    @Test func takesTheLastDuplicateMember() throws {
        let body = Array(#"{"model":"a","model":"b"}"#.utf8)
        let scan = try JSONScanner.scanObject(body)
        #expect(JSONScanner.string(body, at: scan.member("model")!.valueRange) == "b")
    }

    @Test func parsesTheWireDocRequest() throws {
        let body = try Fixture.bytes("openai/chat_request.json")
        let scan = try JSONScanner.scanObject(body)
        #expect(scan.members.map(\.name).contains("stream_options"))
    }
}

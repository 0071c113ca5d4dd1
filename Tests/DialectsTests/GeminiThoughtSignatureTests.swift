import Foundation
import GatewayCore
import Testing

@testable import Dialects

/// Gemini 3's `thoughtSignature` survives a client round trip inside the tool call id.
@Suite struct GeminiThoughtSignatureTests {
    @Test(arguments: ["CiQBVKhc+/9a", "CiQBVKhcAbCd12==", "CiQBVKhcAbCdE12=", "a/b+c/d+"])
    func aBase64SignatureRoundTripsThroughAnIDOfSafeCharacters(signature: String) {
        let id = GeminiThoughtSignature.id("call_0", carrying: signature)
        #expect(id.hasPrefix("call_0__ts_"))
        #expect(id.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "_" || $0 == "-" })
        #expect(GeminiThoughtSignature.signature(inID: id) == signature)
    }

    @Test func whatCannotBeCarriedIsLeftOut() {
        #expect(GeminiThoughtSignature.id("call_0", carrying: nil) == "call_0")
        #expect(GeminiThoughtSignature.id("call_0", carrying: "") == "call_0")
        #expect(GeminiThoughtSignature.id("call_0", carrying: "CiQBVKhc…") == "call_0")
        #expect(GeminiThoughtSignature.signature(inID: "call_0") == nil)
        #expect(GeminiThoughtSignature.signature(inID: "toolu_01A") == nil)
    }

    @Test func aSignedCallGoesBackToGeminiWithItsSignature() throws {
        let answer = #"""
            {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"get_weather","args":{"city":"Rome"}},"thoughtSignature":"CiQBVKhcZ3Rl+/Q="}]},"finishReason":"STOP","index":0}],"responseId":"r1","modelVersion":"gemini-3-pro-preview"}
            """#
        let response = try GeminiProviderCodec.response(Array(answer.utf8))
        let call = try #require(response.toolCalls.first)
        #expect(GeminiThoughtSignature.signature(inID: call.id) == "CiQBVKhcZ3Rl+/Q=")

        // The client sends the call back with a result, as OpenAI and Anthropic clients do.
        let request = CanonicalRequest(
            model: "gemini-3-pro-preview",
            messages: [
                .init(role: .user, content: [.text("Weather in Rome?")]),
                .init(role: .assistant, content: [.toolCall(call)]),
                .init(role: .tool, content: [.toolResult(.init(toolCallID: call.id, content: [.text("18C")]))]),
            ]
        )
        let body = try GeminiRequestEncoder.encode(request)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let contents = try #require(root["contents"] as? [[String: Any]])
        let part = try #require((contents[1]["parts"] as? [[String: Any]])?.first)
        #expect(part["thoughtSignature"] as? String == "CiQBVKhcZ3Rl+/Q=")
        #expect((part["functionCall"] as? [String: Any])?["name"] as? String == "get_weather")
    }

    @Test func aStreamedSignedCallCarriesItsSignatureToo() {
        var decoder = GeminiStreamDecoder()
        let chunk = #"""
            data: {"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{}},"thoughtSignature":"AbCd"}],"role":"model"},"finishReason":"STOP","index":0}],"responseId":"r"}


            """#
        let events = decoder.push(Array(chunk.utf8))
        let start = events.first { if case .toolCallStart = $0 { true } else { false } }
        guard case .toolCallStart(_, let id, _) = start else {
            Issue.record("no tool call in \(events)")
            return
        }
        #expect(GeminiThoughtSignature.signature(inID: id) == "AbCd")
    }
}

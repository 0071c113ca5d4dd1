import Foundation
import GatewayCore
import Testing

@testable import Dialects

@Suite struct OpenAIChatRequestEncoderTests {
    /// OpenAI → canonical → OpenAI → canonical is stable, and the re-encoded body carries the
    /// same fields as the original (except `developer`, which becomes `system`, and `top_k`).
    @Test(arguments: ["openai/chat_request.json", "openai/chat_request_parallel_tools.json"])
    func roundTripsThroughTheCanonicalModel(fixture: String) throws {
        let original = try Fixture.bytes(fixture)
        let canonical = try OpenAIChatRequestDecoder.decode(original)
        let encoded = OpenAIChatRequestEncoder.encode(canonical)
        #expect(try OpenAIChatRequestDecoder.decode(encoded) == canonical)
        let before = try #require(FoundationJSON.object(original))
        let after = try #require(FoundationJSON.object(encoded))
        for key in ["tools", "tool_choice", "parallel_tool_calls", "temperature", "response_format", "stream_options"] {
            #expect(
                try before[key].map { try JSONComparison.normalized(FoundationJSON.bytes($0)) }
                    == after[key].map { try JSONComparison.normalized(FoundationJSON.bytes($0)) },
                "\(key)"
            )
        }
    }

    @Test func writesTheWireExampleMessages() throws {
        let canonical = try OpenAIChatRequestDecoder.decode(try Fixture.bytes("openai/chat_request.json"))
        let root = try #require(FoundationJSON.object(OpenAIChatRequestEncoder.encode(canonical)))
        let messages = try #require(root["messages"] as? [[String: Any]])
        #expect(messages.map { $0["role"] as? String } == ["system", "user", "assistant", "tool"])
        #expect(messages[2]["content"] is NSNull)
        #expect(messages[3]["content"] as? String == "18C, cloudy")
        let image = try #require((messages[1]["content"] as? [[String: Any]])?.last?["image_url"] as? [String: Any])
        #expect(image["url"] as? String == "data:image/png;base64,iVBORw0KGgo=")
        #expect(root["max_completion_tokens"] as? Int == 256)
    }
}

import GatewayCore

/// The one edit a Messages body needs for Claude on Vertex AI (docs/wire/vertex.md §4): no
/// `model` (it is in the URL), and `anthropic_version` in the body (`vertex-2023-10-16`, the
/// documented value) instead of the `anthropic-version` header. Every other member is kept as
/// written, in order; `stream` stays as the client sent it (`:streamRawPredict` wants `true`).
public enum VertexClaudeBody {
    public static let anthropicVersion = "vertex-2023-10-16"

    /// `body` (a JSON object) without `model` and with `anthropic_version`; a client's own
    /// `anthropic_version` is replaced. A body that is not an object is returned unchanged (it
    /// was validated on the way in; the provider will refuse it). `count-tokens:rawPredict` is the
    /// one call that keeps its `model` (`keepingModel`).
    public static func edit(_ body: [UInt8], keepingModel: Bool = false) -> [UInt8] {
        guard let scan = try? JSONScanner.scanObject(body) else { return body }
        var output: [UInt8] = [UInt8(ascii: "{")]
        output.reserveCapacity(body.count + 48)
        for member in scan.members
        where (keepingModel || member.name != "model") && member.name != "anthropic_version" {
            output.append(contentsOf: body[member.memberRange])
            output.append(UInt8(ascii: ","))
        }
        output.append(contentsOf: #""anthropic_version":"#.utf8)
        output.append(contentsOf: JSONScanner.quoted(anthropicVersion))
        output.append(UInt8(ascii: "}"))
        return output
    }
}

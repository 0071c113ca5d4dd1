import Foundation

/// The captured provider wire bodies in `Tests/DialectsTests/Fixtures/` (`anthropic/stream_text.sse`),
/// read from the source tree, so the Dialects tests and the pipeline tests script the same bytes.
public enum WireFixture {
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("DialectsTests/Fixtures")

    public static func bytes(_ name: String) throws -> [UInt8] {
        let url = directory.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TestFailure("no wire fixture at \(url.path)")
        }
        return Array(data)
    }

    public static func text(_ name: String) throws -> String {
        String(decoding: try bytes(name), as: UTF8.self)
    }
}

import Foundation
import MockProvider
import Testing

/// Named SSE events (`event: x\ndata: y`) split on blank lines.
func namedEvents(_ text: String) -> [(name: String, data: String)] {
    text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { block in
        let lines = block.components(separatedBy: "\n")
        let name = lines.first { $0.hasPrefix("event: ") }.map { String($0.dropFirst(7)) } ?? ""
        let data = lines.first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) } ?? ""
        return (name, data)
    }
}

/// The position of `needle` in `text`, for key-order checks.
func offset(of needle: String, in text: String) -> Int {
    text.range(of: needle).map { text.distance(from: text.startIndex, to: $0.lowerBound) } ?? -1
}

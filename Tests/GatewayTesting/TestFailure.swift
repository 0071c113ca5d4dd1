import Testing

/// A test-support failure with a readable description (a socket that would not connect, a process
/// that did not start).
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }

    /// Records `message` as an issue of the running test and returns it as an error.
    public static func record(_ message: String, sourceLocation: SourceLocation = #_sourceLocation) -> TestFailure {
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
        return TestFailure(message)
    }
}

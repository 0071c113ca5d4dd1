import Pipeline
import Synchronization

/// Records everything the pipeline writes; can be told to fail like a vanished client.
public final class RecordingWriter: ResponseWriter {
    public struct ClientGone: Error {}

    private struct Written {
        var status: Int?
        var headers: [(name: String, value: String)] = []
        var parts: [[UInt8]] = []
        var ended = false
        var streamed = false
    }

    private let state = Mutex(Written())
    private let failAfterParts: Int?

    /// `failAfterParts`: body parts after which every write throws (the client went away).
    public init(failAfterParts: Int? = nil) {
        self.failAfterParts = failAfterParts
    }

    public var status: Int? { state.withLock { $0.status } }
    public var headers: [(name: String, value: String)] { state.withLock { $0.headers } }
    /// The body parts in the order written (one for a complete response).
    public var parts: [[UInt8]] { state.withLock { $0.parts } }
    public var bodyBytes: [UInt8] { parts.flatMap { $0 } }
    public var body: String { String(decoding: bodyBytes, as: UTF8.self) }
    public var ended: Bool { state.withLock { $0.ended } }
    /// The response was started with `writeHead` (a stream), not written whole.
    public var streamed: Bool { state.withLock { $0.streamed } }

    public func header(_ name: String) -> String? {
        state.withLock { written in written.headers.first { $0.name == name }?.value }
    }

    public func writeComplete(status: Int, headers: [(name: String, value: String)], body: [UInt8]) async throws {
        state.withLock {
            $0.status = status
            $0.headers = headers
            $0.parts = [body]
            $0.ended = true
        }
    }

    public func writeHead(status: Int, headers: [(name: String, value: String)]) async throws {
        state.withLock {
            $0.status = status
            $0.headers = headers
            $0.streamed = true
        }
    }

    public func writeBodyPart(_ bytes: [UInt8]) async throws {
        try state.withLock {
            if let failAfterParts, $0.parts.count >= failAfterParts { throw ClientGone() }
            $0.parts.append(bytes)
        }
    }

    public func end() async throws {
        state.withLock { $0.ended = true }
    }
}

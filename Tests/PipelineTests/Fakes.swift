import GatewayCore
import Pipeline
import Synchronization

/// A body that yields scripted chunks, then ends or fails.
final class ScriptedBody: UpstreamBody {
    private let state: Mutex<(chunks: [[UInt8]], failure: UpstreamFailure?, cancelled: Bool)>

    init(_ chunks: [[UInt8]], failure: UpstreamFailure? = nil) {
        state = Mutex((chunks, failure, false))
    }

    var wasCancelled: Bool { state.withLock { $0.cancelled } }

    func next() async throws(UpstreamFailure) -> [UInt8]? {
        let result: Result<[UInt8]?, UpstreamFailure> = state.withLock { state in
            if state.cancelled { return .success(nil) }
            if !state.chunks.isEmpty { return .success(state.chunks.removeFirst()) }
            if let failure = state.failure { return .failure(failure) }
            return .success(nil)
        }
        return try result.get()
    }

    func cancel() {
        state.withLock { $0.cancelled = true }
    }
}

/// Answers each request from a per-URL-host script, recording what was sent.
final class ScriptedTransport: UpstreamTransport {
    enum Answer: Sendable {
        case response(status: Int, headers: [(name: String, value: String)], body: ScriptedBody)
        case failure(UpstreamFailure)
    }

    private let script: Mutex<[String: [Answer]]>
    private let sent = Mutex<[UpstreamRequest]>([])

    /// `script` maps a provider base URL prefix to the answers it gives, in order.
    init(_ script: [String: [Answer]]) {
        self.script = Mutex(script)
    }

    var requests: [UpstreamRequest] { sent.withLock { $0 } }

    func send(_ request: UpstreamRequest) async throws(UpstreamFailure) -> UpstreamResponse {
        sent.withLock { $0.append(request) }
        let answer: Answer? = script.withLock { script in
            guard let key = script.keys.first(where: { request.url.hasPrefix($0) }), !(script[key]?.isEmpty ?? true)
            else { return nil }
            return script[key]!.removeFirst()
        }
        switch answer {
        case .response(let status, let headers, let body)?:
            return UpstreamResponse(status: status, headers: headers, body: body)
        case .failure(let failure)?:
            throw failure
        case nil:
            throw UpstreamFailure(.connect, "no scripted answer")
        }
    }
}

/// Records everything the pipeline writes; can be told to fail like a vanished client.
final class RecordingWriter: ResponseWriter {
    struct ClientGone: Error {}

    private let state = Mutex<
        (status: Int?, headers: [(name: String, value: String)], body: [UInt8], ended: Bool, parts: Int)
    >(
        (nil, [], [], false, 0)
    )
    private let failAfterParts: Int?

    init(failAfterParts: Int? = nil) {
        self.failAfterParts = failAfterParts
    }

    var status: Int? { state.withLock { $0.status } }
    var body: String { state.withLock { String(decoding: $0.body, as: UTF8.self) } }
    var ended: Bool { state.withLock { $0.ended } }
    func header(_ name: String) -> String? { state.withLock { s in s.headers.first { $0.name == name }?.value } }

    func writeComplete(status: Int, headers: [(name: String, value: String)], body: [UInt8]) async throws {
        state.withLock {
            $0.status = status
            $0.headers = headers
            $0.body = body
            $0.ended = true
        }
    }

    func writeHead(status: Int, headers: [(name: String, value: String)]) async throws {
        state.withLock {
            $0.status = status
            $0.headers = headers
        }
    }

    func writeBodyPart(_ bytes: [UInt8]) async throws {
        try state.withLock {
            if let failAfterParts, $0.parts >= failAfterParts { throw ClientGone() }
            $0.parts += 1
            $0.body += bytes
        }
    }

    func end() async throws {
        state.withLock { $0.ended = true }
    }
}

/// Keeps access records in memory.
final class MemoryAccessLog: AccessLogSink {
    private let records = Mutex<[AccessRecord]>([])

    var all: [AccessRecord] { records.withLock { $0 } }

    func record(_ record: AccessRecord) {
        records.withLock { $0.append(record) }
    }
}

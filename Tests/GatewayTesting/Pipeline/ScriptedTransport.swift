import GatewayCore
import Synchronization

/// A body that yields scripted chunks, then ends or fails.
public final class ScriptedBody: UpstreamBody {
    private let state: Mutex<(chunks: [[UInt8]], failure: UpstreamFailure?, cancelled: Bool)>

    public init(_ chunks: [[UInt8]], failure: UpstreamFailure? = nil) {
        state = Mutex((chunks, failure, false))
    }

    public var wasCancelled: Bool { state.withLock { $0.cancelled } }

    public func next() async throws(UpstreamFailure) -> [UInt8]? {
        let result: Result<[UInt8]?, UpstreamFailure> = state.withLock { state in
            if state.cancelled { return .success(nil) }
            if !state.chunks.isEmpty { return .success(state.chunks.removeFirst()) }
            if let failure = state.failure { return .failure(failure) }
            return .success(nil)
        }
        return try result.get()
    }

    public func cancel() {
        state.withLock { $0.cancelled = true }
    }
}

/// One scripted provider answer: a response (head, then body chunks, then the end or a failure
/// midway) or a transport failure before any head.
public struct ScriptedAnswer: Sendable {
    enum Kind: Sendable {
        case response(
            status: Int, headers: [(name: String, value: String)], chunks: [[UInt8]], failure: UpstreamFailure?)
        case failure(UpstreamFailure)
    }

    let kind: Kind

    public static func response(
        status: Int = 200, headers: [(name: String, value: String)] = [], chunks: [[UInt8]],
        failure: UpstreamFailure? = nil
    ) -> ScriptedAnswer {
        ScriptedAnswer(kind: .response(status: status, headers: headers, chunks: chunks, failure: failure))
    }

    /// A whole body in one chunk.
    public static func response(
        status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8]
    ) -> ScriptedAnswer {
        response(status: status, headers: headers, chunks: [body])
    }

    public static func response(
        status: Int = 200, headers: [(name: String, value: String)] = [], body: String
    ) -> ScriptedAnswer {
        response(status: status, headers: headers, chunks: [Array(body.utf8)])
    }

    /// A JSON answer (`content-type: application/json`).
    public static func json(_ body: [UInt8], status: Int = 200) -> ScriptedAnswer {
        response(status: status, headers: [("content-type", "application/json")], chunks: [body])
    }

    /// An event stream delivered in `chunkSize`-byte pieces (an SSE transcript cut anywhere), then
    /// ended or failed with `failure`.
    public static func eventStream(
        _ transcript: [UInt8], chunkSize: Int = 4096, failure: UpstreamFailure? = nil
    ) -> ScriptedAnswer {
        response(
            headers: [("content-type", "text/event-stream")], chunks: transcript.chunked(by: chunkSize),
            failure: failure)
    }

    public static func failure(_ kind: UpstreamFailure.Kind, _ detail: String) -> ScriptedAnswer {
        ScriptedAnswer(kind: .failure(UpstreamFailure(kind, detail)))
    }
}

/// Answers each request from a script per URL prefix, recording what was sent and every body it
/// handed out. A prefix's queued answers come first, in order, then its `always` answer; a request
/// with neither fails to connect ("no scripted answer").
public final class ScriptedTransport: UpstreamTransport {
    private struct Script {
        var queued: [String: [ScriptedAnswer]] = [:]
        var always: [String: ScriptedAnswer] = [:]
        var sent: [UpstreamRequest] = []
        var bodies: [ScriptedBody] = []
    }

    private let state = Mutex(Script())

    /// `script` maps a URL prefix (`http://primary`) to the answers it gives, in order.
    public init(_ script: [String: [ScriptedAnswer]] = [:]) {
        state.withLock { $0.queued = script }
    }

    /// Adds answers to `prefix`'s queue.
    public func enqueue(_ answers: [ScriptedAnswer], for prefix: String) {
        state.withLock { $0.queued[prefix, default: []] += answers }
    }

    /// `prefix` answers `answer` whenever its queue is empty.
    public func always(_ answer: ScriptedAnswer, for prefix: String) {
        state.withLock { $0.always[prefix] = answer }
    }

    /// Forgets `prefix`'s queue and its `always` answer.
    public func clear(_ prefix: String) {
        state.withLock {
            $0.queued[prefix] = nil
            $0.always[prefix] = nil
        }
    }

    /// Every request sent, in order.
    public var requests: [UpstreamRequest] { state.withLock { $0.sent } }
    /// Every response body handed out, in order.
    public var bodies: [ScriptedBody] { state.withLock { $0.bodies } }

    public func requests(to prefix: String) -> [UpstreamRequest] {
        requests.filter { $0.url.hasPrefix(prefix) }
    }

    public func send(_ request: UpstreamRequest) async throws(UpstreamFailure) -> UpstreamResponse {
        let result: Result<UpstreamResponse, UpstreamFailure> = state.withLock { script in
            script.sent.append(request)
            let prefixes = Set(script.queued.keys).union(script.always.keys).filter { request.url.hasPrefix($0) }
            // The longest matching prefix decides.
            guard let prefix = prefixes.max(by: { $0.count < $1.count }) else {
                return .failure(UpstreamFailure(.connect, "no scripted answer"))
            }
            let answer: ScriptedAnswer
            if let first = script.queued[prefix]?.first {
                script.queued[prefix]?.removeFirst()
                answer = first
            } else if let always = script.always[prefix] {
                answer = always
            } else {
                return .failure(UpstreamFailure(.connect, "no scripted answer"))
            }
            switch answer.kind {
            case .response(let status, let headers, let chunks, let failure):
                let body = ScriptedBody(chunks, failure: failure)
                script.bodies.append(body)
                return .success(UpstreamResponse(status: status, headers: headers, body: body))
            case .failure(let failure):
                return .failure(failure)
            }
        }
        return try result.get()
    }
}

extension UpstreamRequest {
    public func header(_ name: String) -> String? {
        let name = name.lowercased()
        return headers.first { $0.name.lowercased() == name }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

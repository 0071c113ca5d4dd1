import NIOCore
import NIOHTTP1

/// One provider dialect of the mock: routing, authentication, request validation and the rendering of
/// answers, streams and errors. Pure functions of the request: no I/O, no clocks beyond ids and
/// `created` stamps. `MockHTTPHandler` owns the connection and applies faults around what it returns.
protocol MockDialectResponder: Sendable {
    /// A rejection (401 and the like) when the request is not authenticated; nil lets it through.
    func authenticate(_ request: MockRequest) -> MockReply?

    /// The answer to an authenticated request.
    func respond(to request: MockRequest) -> MockResponderResult

    /// The dialect's error for an injected `status` fault.
    func injectedError(status: Int, retryAfterSeconds: Int?, model: String?) -> MockReply

    /// A 400 for a request the mock cannot serve (such as an unreadable fault suffix).
    func invalidRequest(message: String) -> MockReply

    /// The in-band stream error event, complete with its framing (`data: {...}\n\n`).
    func streamErrorEvent() -> String

    /// The in-band error event for the stream `reply`: `streamErrorEvent()`, unless the dialect has
    /// several stream formats (Vertex AI: Gemini's and Claude's).
    func streamErrorEvent(in reply: MockReply) -> String

    /// The same as bytes (binary for Bedrock's event stream).
    func streamErrorBytes(in reply: MockReply) -> [UInt8]

    /// Adds the per-response headers that need the time spent (`openai-processing-ms` and the like).
    func finishHeaders(_ headers: inout HTTPHeaders, processingMilliseconds: Int)
}

extension MockDialectResponder {
    func streamErrorEvent(in reply: MockReply) -> String { streamErrorEvent() }
    func streamErrorBytes(in reply: MockReply) -> [UInt8] { Array(streamErrorEvent(in: reply).utf8) }
}

/// What a responder decided.
enum MockResponderResult {
    /// A final reply that faults never touch (validation errors, 404s).
    case reply(MockReply)
    /// A normal answer. Faults apply to it; `faultSuffix` is the text after `#` in the model name.
    case answer(MockReply, model: String?, faultSuffix: String?)
}

/// A fully read HTTP request.
struct MockRequest {
    var head: HTTPRequestHead
    var body: ByteBuffer

    var method: HTTPMethod { head.method }

    /// The request target without its query.
    var path: Substring {
        let uri = head.uri[...]
        return uri.firstIndex(of: "?").map { uri[..<$0] } ?? uri
    }

    var bodyBytes: [UInt8] { Array(body.readableBytesView) }

    var observed: MockObservedRequest {
        MockObservedRequest(
            method: head.method.rawValue,
            uri: head.uri,
            path: String(path),
            headers: head.headers.map { (name: $0.name, value: $0.value) },
            body: bodyBytes
        )
    }
}

/// A response as a responder renders it: head fields and either a whole body or stream events.
struct MockReply {
    enum Body {
        case full(String)
        /// Each element is one framed event, the terminator included.
        case stream([String])
        /// Each element is one binary frame (Bedrock's `application/vnd.amazon.eventstream`).
        case binaryStream([[UInt8]])
    }

    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: Body
    /// The in-band error event of this stream after `sent` events, when it is not the dialect's
    /// `streamErrorEvent()` (Responses streams number their events).
    var streamErrorEvent: (@Sendable (_ sent: Int) -> String)? = nil

    init(status: HTTPResponseStatus, headers: HTTPHeaders, body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    var isStream: Bool {
        switch body {
        case .stream, .binaryStream: true
        case .full: false
        }
    }
}

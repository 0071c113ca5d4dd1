import NIOCore
import NIOHTTP1
import Pipeline
import Synchronization

/// `ResponseWriter` over one HTTP/1.1 connection. Each write waits while the client is slow
/// (the channel is not writable; `listen.write_timeout` closes a connection that stops reading)
/// and throws once the client has gone away.
final class NIOResponseWriter: ResponseWriter {
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    private let version: HTTPVersion
    private let keepAlive: Bool
    /// Asked when the response head is written: true once the gateway is draining, so that a
    /// response started during shutdown tells the client to reconnect elsewhere.
    private let closing: @Sendable () -> Bool
    private let ended = Atomic<Bool>(false)
    private let closeAnnounced = Atomic<Bool>(false)

    init(
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        version: HTTPVersion,
        keepAlive: Bool,
        closing: @escaping @Sendable () -> Bool
    ) {
        self.outbound = outbound
        self.version = version
        self.keepAlive = keepAlive
        self.closing = closing
    }

    /// True once a whole response has been written.
    var isComplete: Bool { ended.load(ordering: .acquiring) }

    /// False when the response told the client the connection closes after it.
    var keptAlive: Bool { !closeAnnounced.load(ordering: .acquiring) }

    func writeComplete(status: Int, headers: [(name: String, value: String)], body: [UInt8]) async throws {
        var head = makeHead(status: status, headers: headers, delimited: true)
        head.headers.replaceOrAdd(name: "content-length", value: String(body.count))
        try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
        ended.store(true, ordering: .releasing)
    }

    func writeHead(status: Int, headers: [(name: String, value: String)]) async throws {
        // Without content-length, NIO's encoder frames the body with chunked transfer encoding; an
        // HTTP/1.0 client knows no chunks, so its body ends when the connection closes.
        let head = makeHead(status: status, headers: headers, delimited: version != .http1_0)
        try await outbound.write(.head(head))
    }

    func writeBodyPart(_ bytes: [UInt8]) async throws {
        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: bytes))))
    }

    func end() async throws {
        try await outbound.write(.end(nil))
        ended.store(true, ordering: .releasing)
    }

    private func makeHead(status: Int, headers: [(name: String, value: String)], delimited: Bool)
        -> HTTPResponseHead
    {
        var fields = HTTPHeaders(headers.map { ($0.name, $0.value) })
        if !keepAlive || !delimited || closing() {
            fields.replaceOrAdd(name: "connection", value: "close")
            closeAnnounced.store(true, ordering: .releasing)
        } else if version == .http1_0 {
            fields.replaceOrAdd(name: "connection", value: "keep-alive")
        }
        return HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status), headers: fields)
    }
}

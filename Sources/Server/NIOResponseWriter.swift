import NIOCore
import NIOHTTP1
import Pipeline
import Synchronization

/// `ResponseWriter` over one HTTP/1.1 connection. Each write waits while the client is slow
/// (the channel is not writable) and throws once the client has gone away.
final class NIOResponseWriter: ResponseWriter {
    private let outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    private let version: HTTPVersion
    private let keepAlive: Bool
    private let ended = Atomic<Bool>(false)

    init(
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>,
        version: HTTPVersion,
        keepAlive: Bool
    ) {
        self.outbound = outbound
        self.version = version
        self.keepAlive = keepAlive
    }

    /// True once a whole response has been written (the connection may serve another request).
    var isComplete: Bool { ended.load(ordering: .acquiring) }

    func writeComplete(status: Int, headers: [(name: String, value: String)], body: [UInt8]) async throws {
        var head = makeHead(status: status, headers: headers)
        head.headers.replaceOrAdd(name: "content-length", value: String(body.count))
        try await outbound.write(contentsOf: [.head(head), .body(.byteBuffer(ByteBuffer(bytes: body))), .end(nil)])
        ended.store(true, ordering: .releasing)
    }

    func writeHead(status: Int, headers: [(name: String, value: String)]) async throws {
        // Without content-length, NIO's encoder frames the body with chunked transfer encoding.
        try await outbound.write(.head(makeHead(status: status, headers: headers)))
    }

    func writeBodyPart(_ bytes: [UInt8]) async throws {
        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: bytes))))
    }

    func end() async throws {
        try await outbound.write(.end(nil))
        ended.store(true, ordering: .releasing)
    }

    private func makeHead(status: Int, headers: [(name: String, value: String)]) -> HTTPResponseHead {
        var fields = HTTPHeaders(headers.map { ($0.name, $0.value) })
        if !keepAlive { fields.replaceOrAdd(name: "connection", value: "close") }
        return HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: status), headers: fields)
    }
}

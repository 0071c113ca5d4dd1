import NIOCore
import NIOHTTP1

/// One connection of `TestHTTPServer`: records the request, then plays the `TestResponse`.
final class TestHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let events: EventsBox
    private let respond: @Sendable (RecordedRequest) -> TestResponse
    private var request: RecordedRequest?
    private var active = false

    init(events: EventsBox, respond: @escaping @Sendable (RecordedRequest) -> TestResponse) {
        self.events = events
        self.respond = respond
    }

    func channelActive(context: ChannelHandlerContext) {
        active = true
        let channel = context.channel
        events.events.withLock {
            $0.accepted += 1
            $0.children[ObjectIdentifier(channel)] = channel
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        active = false
        let channel = context.channel
        events.events.withLock {
            $0.closed += 1
            $0.lastClose = .now
            $0.children[ObjectIdentifier(channel)] = nil
        }
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = RecordedRequest(
                method: head.method.rawValue, uri: head.uri,
                headers: head.headers.map { (name: $0.name, value: $0.value) }, body: [])
        case .body(var buffer):
            request?.body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            guard let request else { return }
            self.request = nil
            events.events.withLock { $0.requests.append(request) }
            play(respond(request), for: request, context: context)
        }
    }

    private func play(_ response: TestResponse, for request: RecordedRequest, context: ChannelHandlerContext) {
        switch response {
        case .fixed(let status, let headers, let body):
            writeComplete(status: status, headers: headers, body: body, context: context)
        case .echo:
            writeComplete(
                status: 200, headers: [("x-echo-method", request.method)], body: request.body, context: context)
        case .chunks(let count, let chunk, let delay):
            writeHead(status: 200, headers: [], context: context)
            writeChunks(remaining: count, chunk: chunk, delay: delay, end: true, context: context)
        case .huge(let bytes):
            writeHead(status: 200, headers: [("content-length", "\(bytes)")], context: context)
            writeHuge(remaining: bytes, context: context)
        case .hang:
            break
        case .stall(let chunks, let chunk):
            writeHead(status: 200, headers: [], context: context)
            writeChunks(remaining: chunks, chunk: chunk, delay: .zero, end: false, context: context)
        case .held(let first, let rest, let gate):
            writeHead(status: 200, headers: [], context: context)
            writeChunks(remaining: 1, chunk: first, delay: .zero, end: false, context: context)
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
            gate.whenOpen {
                bound.eventLoop.execute {
                    let (handler, context) = bound.value
                    handler.writeChunks(remaining: 1, chunk: rest, delay: .zero, end: true, context: context)
                }
            }
        }
    }

    private func writeHead(status: Int, headers: [(String, String)], context: ChannelHandlerContext) {
        var head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status))
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    private func writeComplete(status: Int, headers: [(String, String)], body: [UInt8], context: ChannelHandlerContext)
    {
        writeHead(status: status, headers: headers + [("content-length", "\(body.count)")], context: context)
        if !body.isEmpty {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    private func writeChunks(
        remaining: Int, chunk: [UInt8], delay: TimeAmount, end: Bool, context: ChannelHandlerContext
    ) {
        guard active else { return }
        guard remaining > 0 else {
            if end {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                context.flush()
            }
            return
        }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: chunk)))))
            .assumeIsolated().whenSuccess { [self] in
                if delay == .zero {
                    writeChunks(remaining: remaining - 1, chunk: chunk, delay: delay, end: end, context: context)
                } else {
                    context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
                        self.writeChunks(
                            remaining: remaining - 1, chunk: chunk, delay: delay, end: end, context: context)
                    }
                }
            }
    }

    /// Writes the next 64 KiB once the previous write has gone to the socket, so the server's own
    /// memory stays flat and the pace is the client's.
    private func writeHuge(remaining: Int, context: ChannelHandlerContext) {
        guard active else { return }
        guard remaining > 0 else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let count = min(remaining, 64 * 1024)
        let buffer = context.channel.allocator.buffer(repeating: UInt8(ascii: "x"), count: count)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer)))).assumeIsolated().whenSuccess { [self] in
            writeHuge(remaining: remaining - count, context: context)
        }
    }
}

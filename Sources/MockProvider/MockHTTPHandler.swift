import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One connection of a mock server: reads a whole request, lets the dialect answer it, applies the
/// faults (status, delay, then the stream plan), and counts what happened.
final class MockHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    enum State {
        case idle
        case receiving(HTTPRequestHead, ByteBuffer)
        /// A reply is decided and its head not written yet (a `delay` may be pending).
        case delaying(Exchange)
        case streaming(Exchange, MockStreamPlan<[UInt8]>)
        /// A `stall` fault: nothing more will be sent; the client has to leave.
        case stalled(Exchange)
        /// The mock closes the connection itself (cut, reset, or no keep-alive).
        case closing
    }

    /// The response being sent and what it needs to finish.
    struct Exchange {
        var reply: MockReply
        var faults: MockFaultActions?
        var keepAlive: Bool
        var version: HTTPVersion
        var received: NIODeadline
    }

    let core: MockProviderCore
    var state = State.idle
    var scheduled: Scheduled<Void>?
    /// The last stream event's write, so an early close never drops events already sent.
    var lastWrite: EventLoopFuture<Void>?

    init(core: MockProviderCore) {
        self.core = core
    }

    func channelActive(context: ChannelHandlerContext) {
        core.count(\.connectionsAccepted)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            state = .receiving(head, context.channel.allocator.buffer(capacity: 0))
            // libcurl asks before sending larger bodies; answering at once spares it a one-second wait.
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                let interim = HTTPResponseHead(version: head.version, status: .continue)
                context.writeAndFlush(wrapOutboundOut(.head(interim)), promise: nil)
            }
        case (.body(var chunk), .receiving(let head, var body)):
            state = .idle
            body.writeBuffer(&chunk)
            state = .receiving(head, body)
        case (.end, .receiving(let head, let body)):
            handle(MockRequest(head: head, body: body), context: context)
        case (_, .closing), (_, .stalled):
            break
        default:
            preconditionFailure("request part out of order for state \(state)")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        scheduled?.cancel()
        scheduled = nil
        switch state {
        case .delaying(let exchange), .streaming(let exchange, _), .stalled(let exchange):
            core.count(exchange.reply.isStream ? \.streamsAbortedByClient : \.responsesAbortedByClient)
        case .idle, .receiving, .closing:
            break
        }
        state = .closing
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func handle(_ request: MockRequest, context: ChannelHandlerContext) {
        let exchange = Exchange(
            reply: MockReply(status: .ok, headers: [:], body: .full("")),
            faults: nil,
            keepAlive: request.head.isKeepAlive,
            version: request.head.version,
            received: .now()
        )
        if request.path.hasPrefix("/_mock/") {
            respond(Exchange(reply: MockControlEndpoints.reply(to: request, core: core), with: exchange), context)
            return
        }
        core.record(request.observed)
        let responder = core.responder
        if let rejection = responder.authenticate(request) {
            respond(Exchange(reply: rejection, with: exchange), context)
            return
        }
        switch responder.respond(to: request) {
        case .reply(let reply):
            respond(Exchange(reply: reply, with: exchange), context)
        case .answer(let reply, let model, let suffix):
            let faults: MockFaultActions?
            do {
                faults = try core.nextFaults(suffix: suffix)
            } catch {
                respond(Exchange(reply: responder.invalidRequest(message: error.description), with: exchange), context)
                return
            }
            if faults?.resetOnReceipt == true {
                reset(context)
                return
            }
            var answer = Exchange(reply: reply, with: exchange)
            answer.faults = faults
            if let status = faults?.status {
                answer.reply = responder.injectedError(
                    status: status, retryAfterSeconds: faults?.retryAfterSeconds, model: model
                )
            }
            if answer.reply.isStream { core.count(\.streamsStarted) }
            respond(answer, context)
        }
    }

    /// Sends `exchange`, after its `delay` fault if it has one.
    private func respond(_ exchange: Exchange, _ context: ChannelHandlerContext) {
        state = .delaying(exchange)
        guard let delay = exchange.faults?.delay else {
            writeHead(context)
            return
        }
        scheduled = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) {
            self.scheduled = nil
            self.writeHead(context)
        }
    }

    private func writeHead(_ context: ChannelHandlerContext) {
        guard case .delaying(let exchange) = state else { return }
        var headers = exchange.reply.headers
        let elapsed = (NIODeadline.now() - exchange.received).nanoseconds / 1_000_000
        core.responder.finishHeaders(&headers, processingMilliseconds: Int(elapsed))
        if !exchange.keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        switch exchange.reply.body {
        case .full(let text):
            headers.replaceOrAdd(name: "content-length", value: String(text.utf8.count))
            let head = HTTPResponseHead(version: exchange.version, status: exchange.reply.status, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
            finish(exchange, context)
        case .stream(let events):
            let head = HTTPResponseHead(version: exchange.version, status: exchange.reply.status, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            state = .streaming(exchange, MockStreamPlan(events: events.map { Array($0.utf8) }, faults: exchange.faults))
            pump(context)
        case .binaryStream(let frames):
            let head = HTTPResponseHead(version: exchange.version, status: exchange.reply.status, headers: headers)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            state = .streaming(exchange, MockStreamPlan(events: frames, faults: exchange.faults))
            pump(context)
        }
    }
}

extension MockHTTPHandler.Exchange {
    init(reply: MockReply, with template: Self) {
        self = template
        self.reply = reply
    }
}

import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Sending stream events and ending responses: normally, or early as a fault asks.
extension MockHTTPHandler {
    /// Writes events until the plan pauses, stops or finishes. Events sent without a pause between them
    /// go out as one body part (one chunk), which keeps the SSE bytes and saves a write per event.
    func pump(_ context: ChannelHandlerContext) {
        var pending = context.channel.allocator.buffer(capacity: 0)
        func writePending() {
            guard pending.readableBytes > 0 else { return }
            lastWrite = context.write(wrapOutboundOut(.body(.byteBuffer(pending))))
            pending.clear()
        }
        while case .streaming(let exchange, var plan) = state {
            let step = plan.step()
            state = .streaming(exchange, plan)
            switch step {
            case .send(let event, let pause):
                pending.writeBytes(event)
                if let pause {
                    writePending()
                    context.flush()
                    scheduled = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(pause)) {
                        self.scheduled = nil
                        self.pump(context)
                    }
                    return
                }
            case .finish:
                writePending()
                finish(exchange, context)
            case .stop(let kind):
                writePending()
                stop(kind, sent: plan.sent, exchange, context)
            }
        }
    }

    /// Ends the body; counts a completed stream once the last byte is written. The connection is ready for
    /// the next request at once (the pipelining handler releases it as soon as the end is written).
    func finish(_ exchange: Exchange, _ context: ChannelHandlerContext, completes: Bool = true) {
        state = exchange.keepAlive ? .idle : .closing
        let core = self.core
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                if exchange.reply.isStream, completes { core.count(\.streamsCompleted) }
                if !exchange.keepAlive { context.close(promise: nil) }
            case .failure:
                core.count(exchange.reply.isStream ? \.streamsAbortedByClient : \.responsesAbortedByClient)
            }
        }
    }

    private func stop(
        _ kind: MockFaultActions.StreamStop, sent: Int, _ exchange: Exchange, _ context: ChannelHandlerContext
    ) {
        switch kind {
        case .stall:
            state = .stalled(exchange)
            context.flush()
        case .cut:
            state = .closing
            context.flush()
            afterLastWrite(context) { context.close(promise: nil) }
        case .reset:
            state = .closing
            context.flush()
            afterLastWrite(context) { self.reset(context) }
        case .errorEvent:
            let event =
                exchange.reply.streamErrorEvent.map { Array($0(sent).utf8) }
                ?? core.responder.streamErrorBytes(in: exchange.reply)
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: event)))), promise: nil)
            finish(exchange, context, completes: false)
        }
    }

    private func afterLastWrite(_ context: ChannelHandlerContext, _ body: @escaping () -> Void) {
        guard let lastWrite else { return body() }
        self.lastWrite = nil
        lastWrite.assumeIsolated().whenComplete { _ in body() }
    }

    /// Closes with SO_LINGER 0, so a TCP peer sees a reset rather than an orderly close.
    func reset(_ context: ChannelHandlerContext) {
        state = .closing
        guard let options = context.channel as? any SocketOptionProvider else {
            context.close(promise: nil)
            return
        }
        options.setSoLinger(linger(l_onoff: 1, l_linger: 0)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }
}

/// Removes a Unix socket file, ignoring a missing one.
func unlinkSocket(_ path: String) {
    _ = unlink(path)
}

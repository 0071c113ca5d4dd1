import GatewayCore
import NIOCore
import NIOHTTP1
import Pipeline

extension GatewayServer {
    /// Serves one connection: reads requests in order (keep-alive), hands each to the pipeline,
    /// and cancels the pipeline's work as soon as the client disconnects. Errors stay with the
    /// connection; one bad peer never affects another.
    func serve(_ accepted: AcceptedConnection) async {
        let channel = accepted.channel.channel
        registry.register(channel)
        defer { registry.remove(channel) }
        do {
            try await accepted.channel.executeThenClose { inbound, outbound in
                var parts = inbound.makeAsyncIterator()
                while let part = try await parts.next() {
                    guard case .head(let head) = part else { continue }
                    registry.setBusy(channel, true)
                    let receivedAt = ContinuousClock.now
                    let body: [UInt8]
                    switch try await readBody(head: head, parts: &parts, outbound: outbound) {
                    case .complete(let bytes): body = bytes
                    case .rejected: return
                    }
                    let keepAlive = head.isKeepAlive && !registry.isDraining
                    let writer = NIOResponseWriter(outbound: outbound, version: head.version, keepAlive: keepAlive)
                    let request = makeRequest(head: head, body: body, receivedAt: receivedAt, peer: accepted.peer)
                    await handleCancellingOnClose(request, writer: writer, channel: channel)
                    guard writer.isComplete, keepAlive, registry.setBusy(channel, false) else { return }
                }
            }
        } catch {
            logger.debug("connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    private enum BodyResult {
        case complete([UInt8])
        /// An error answer was sent and the connection must close.
        case rejected
    }

    /// Reads the request body up to `maxBodyBytes`; past it, answers 413 and closes the
    /// connection after a lingering read: the rest of the body is read and discarded (bounded by
    /// `read_timeout` and by four times the limit) so that a client still sending can read the
    /// answer instead of meeting a reset.
    private func readBody(
        head: HTTPRequestHead,
        parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws -> BodyResult {
        let limit = configuration.maxBodyBytes
        let declared = head.headers.first(name: "content-length").flatMap { Int($0) }
        if let declared, declared > limit {
            try await rejectTooLarge(head: head, outbound: outbound)
            if declared <= 4 * limit { try await discardBody(&parts, upTo: 4 * limit) }
            return .rejected
        }
        if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
            try await outbound.write(.head(HTTPResponseHead(version: head.version, status: .continue)))
        }
        var body: [UInt8] = []
        body.reserveCapacity(declared ?? 0)
        while let part = try await parts.next() {
            switch part {
            case .body(let buffer):
                guard body.count + buffer.readableBytes <= limit else {
                    try await rejectTooLarge(head: head, outbound: outbound)
                    try await discardBody(&parts, upTo: 3 * limit)
                    return .rejected
                }
                body.append(contentsOf: buffer.readableBytesView)
            case .end:
                return .complete(body)
            case .head:
                preconditionFailure("HTTP decoder delivered a second head before the end of a request")
            }
        }
        return .rejected  // the client went away mid-body
    }

    /// Reads and drops request parts until the end of the request or `limit` bytes.
    private func discardBody(
        _ parts: inout NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
        upTo limit: Int
    ) async throws {
        var discarded = 0
        while let part = try await parts.next() {
            switch part {
            case .body(let buffer):
                discarded += buffer.readableBytes
                if discarded > limit { return }
            case .end, .head:
                return
            }
        }
    }

    private func rejectTooLarge(
        head: HTTPRequestHead,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        let error = GatewayError(
            .payloadTooLarge,
            "Request body is larger than the limit of \(configuration.maxBodyBytes) bytes."
        )
        let writer = NIOResponseWriter(outbound: outbound, version: head.version, keepAlive: false)
        let request = makeRequest(head: head, body: [], receivedAt: .now, peer: nil)
        await pipeline.reject(request, with: error, writer: writer)
    }

    private func makeRequest(
        head: HTTPRequestHead,
        body: [UInt8],
        receivedAt: ContinuousClock.Instant,
        peer: PeerCredentials?
    ) -> GatewayRequest {
        let uri = head.uri
        let queryStart = uri.firstIndex(of: "?")
        return GatewayRequest(
            method: head.method.rawValue,
            path: String(uri[..<(queryStart ?? uri.endIndex)]),
            query: queryStart.map { String(uri[uri.index(after: $0)...]) },
            headers: head.headers.map { (name: $0.name.lowercased(), value: $0.value) },
            body: body,
            receivedAt: receivedAt,
            peer: peer
        )
    }

    /// Runs the pipeline in a task that is cancelled the moment the connection closes, so an
    /// abandoned request stops its upstream transfer at once.
    private func handleCancellingOnClose(_ request: GatewayRequest, writer: NIOResponseWriter, channel: any Channel)
        async
    {
        let pipeline = self.pipeline
        let task = Task { await pipeline.handle(request, writer: writer) }
        channel.closeFuture.whenComplete { _ in task.cancel() }
        await task.value
    }
}

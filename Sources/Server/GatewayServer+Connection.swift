import GatewayCore
import NIOCore
import NIOHTTP1
import Pipeline

extension GatewayServer {
    typealias RequestParts = NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
    typealias ResponseParts = NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>

    /// Serves one connection: reads requests in order (keep-alive), hands each to the pipeline,
    /// and cancels the pipeline's work as soon as the client disconnects. Errors stay with the
    /// connection; one bad peer never affects another.
    ///
    /// Everything per connection is set up once here, nothing per request: the watch on the
    /// connection's close is one child task for the connection's lifetime, so a keep-alive
    /// connection serving a million requests holds no more than one serving one.
    func serve(_ accepted: AcceptedConnection) async {
        let channel = accepted.channel.channel
        let admitted = registry.register(channel, limit: configuration.maxConnections)
        defer { registry.remove(channel) }
        do {
            try await accepted.channel.executeThenClose { inbound, outbound in
                try await Self.cancellingOnClose(channel) {
                    if admitted {
                        try await self.serveRequests(inbound, outbound, accepted: accepted)
                    } else {
                        try await self.refuseConnection(inbound, outbound, accepted: accepted)
                    }
                }
            }
        } catch {
            logger.debug("connection ended with an error", metadata: ["error": "\(error)"])
        }
    }

    /// Runs `body` and cancels it the moment `channel` closes (the client hung up, a timeout fired,
    /// shutdown cut it), so an abandoned request stops its upstream transfer at once.
    private static func cancellingOnClose(
        _ channel: any Channel,
        _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await body() }
            group.addTask { await waitForClose(of: channel) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Returns when `channel` closes, or at once when the task is cancelled (the connection's
    /// work ended first and `executeThenClose` is about to close it gracefully).
    private static func waitForClose(of channel: any Channel) async {
        let (closed, continuation) = AsyncStream<Never>.makeStream()
        channel.closeFuture.whenComplete { _ in continuation.finish() }
        for await _ in closed {}
    }

    private func serveRequests(
        _ inbound: NIOAsyncChannelInboundStream<HTTPServerRequestPart>,
        _ outbound: ResponseParts,
        accepted: AcceptedConnection
    ) async throws {
        let channel = accepted.channel.channel
        let registry = self.registry
        var parts = inbound.makeAsyncIterator()
        while let part = try await parts.next() {
            guard case .head(let head) = part else { continue }
            registry.setBusy(channel, true)
            let receivedAt = ContinuousClock.now
            if let refusal = frontDoor.refusal(for: head, overTCP: !accepted.unixSocket) {
                try await refuse(head, with: refusal, parts: &parts, outbound: outbound, accepted: accepted)
                return
            }
            // Health probes are never refused for load: an overloaded gateway is still alive.
            let probe = Self.isProbe(head)
            guard probe || registry.beginRequest(limit: configuration.maxInFlight) else {
                let overloaded = GatewayError(
                    .unavailable, "The gateway is at its limit of requests in flight; retry shortly.",
                    retryAfterSeconds: 1)
                try await refuse(head, with: overloaded, parts: &parts, outbound: outbound, accepted: accepted)
                return
            }
            defer { if !probe { registry.endRequest() } }
            let body: [UInt8]
            switch try await readBody(head: head, parts: &parts, outbound: outbound, accepted: accepted) {
            case .complete(let bytes): body = bytes
            case .rejected: return
            }
            let writer = NIOResponseWriter(outbound: outbound, version: head.version, keepAlive: head.isKeepAlive) {
                registry.isDraining
            }
            let request = makeRequest(head: head, body: body, receivedAt: receivedAt, peer: accepted.peer)
            await dispatch(request, writer: writer)
            guard writer.isComplete, writer.keptAlive, registry.setBusy(channel, false) else { return }
        }
    }

    /// A connection over `listen.max_connections`: its first request is answered 503 (in the
    /// client's dialect, with `retry-after`) and the connection is closed.
    private func refuseConnection(
        _ inbound: NIOAsyncChannelInboundStream<HTTPServerRequestPart>,
        _ outbound: ResponseParts,
        accepted: AcceptedConnection
    ) async throws {
        var parts = inbound.makeAsyncIterator()
        while let part = try await parts.next() {
            guard case .head(let head) = part else { continue }
            if Self.isProbe(head) {
                let writer = NIOResponseWriter(outbound: outbound, version: head.version, keepAlive: false) { true }
                let request = makeRequest(head: head, body: [], receivedAt: .now, peer: accepted.peer)
                await dispatch(request, writer: writer)
                return
            }
            let error = GatewayError(
                .unavailable, "The gateway is at its limit of open connections; retry shortly.", retryAfterSeconds: 1)
            try await refuse(head, with: error, parts: &parts, outbound: outbound, accepted: accepted)
            return
        }
    }

    /// `GET /healthz`, `GET /readyz` and `GET /metrics`: answered even over the connection and
    /// in-flight limits (an overloaded gateway is still alive, and its figures matter most then).
    private static func isProbe(_ head: HTTPRequestHead) -> Bool {
        head.method == .GET && (head.uri == "/healthz" || head.uri == "/readyz" || head.uri == "/metrics")
    }

    private enum BodyResult {
        case complete([UInt8])
        /// An error answer was sent and the connection must close.
        case rejected
    }

    /// Reads the request body up to `maxBodyBytes`; past it, answers 413 and closes the
    /// connection after a lingering read.
    private func readBody(
        head: HTTPRequestHead,
        parts: inout RequestParts,
        outbound: ResponseParts,
        accepted: AcceptedConnection
    ) async throws -> BodyResult {
        let limit = configuration.maxBodyBytes
        let declared = head.headers.first(name: "content-length").flatMap { Int($0) }
        let tooLarge = GatewayError(
            .payloadTooLarge, "Request body is larger than the limit of \(configuration.maxBodyBytes) bytes.")
        if let declared, declared > limit {
            try await refuse(head, with: tooLarge, parts: &parts, outbound: outbound, accepted: accepted)
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
                    try await refuse(head, with: tooLarge, parts: &parts, outbound: outbound, accepted: accepted)
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

    /// Answers a request the server refuses before the pipeline sees it (403 from the front door,
    /// 413, 415, 503 over a limit) with `connection: close`, then reads and drops what is left of the
    /// request — at most four times the body limit, within `read_timeout` — so that a client still sending
    /// can read the answer instead of meeting a reset.
    private func refuse(
        _ head: HTTPRequestHead,
        with error: GatewayError,
        parts: inout RequestParts,
        outbound: ResponseParts,
        accepted: AcceptedConnection
    ) async throws {
        let writer = NIOResponseWriter(outbound: outbound, version: head.version, keepAlive: false) { true }
        let request = makeRequest(head: head, body: [], receivedAt: .now, peer: accepted.peer)
        await pipeline.reject(request, with: error, writer: writer)
        let declared = head.headers.first(name: "content-length").flatMap { Int($0) } ?? 0
        guard declared <= 4 * configuration.maxBodyBytes else { return }
        var discarded = 0
        while let part = try await parts.next() {
            switch part {
            case .body(let buffer):
                discarded += buffer.readableBytes
                if discarded > 4 * configuration.maxBodyBytes { return }
            case .end, .head:
                return
            }
        }
    }

    private func makeRequest(
        head: HTTPRequestHead,
        body: [UInt8],
        receivedAt: ContinuousClock.Instant,
        peer: PeerCredentials?
    ) -> GatewayRequest {
        let uri = head.uri
        // On the UTF-8 view: `uri.firstIndex(of: "?")` walks Characters (~7,600 instructions a request).
        let queryStart = uri.utf8.firstIndex(of: UInt8(ascii: "?"))
        return GatewayRequest(
            method: head.method.rawValue,
            path: queryStart.map { String(uri[..<$0]) } ?? uri,
            query: queryStart.map { String(uri[uri.utf8.index(after: $0)...]) },
            headers: head.headers.map { (name: Self.lowercasedName($0.name), value: $0.value) },
            body: body,
            receivedAt: receivedAt,
            peer: peer
        )
    }

    /// Header names as the pipeline keys them; most clients already send them in lower case.
    private static func lowercasedName(_ name: String) -> String {
        name.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) ? name.lowercased() : name
    }
}

extension GatewayServer {
    /// The pipeline's answer, by what this server's listeners serve.
    func dispatch(_ request: GatewayRequest, writer: some ResponseWriter) async {
        switch role {
        case .data: await pipeline.handle(request, writer: writer)
        case .admin: await pipeline.handleAdmin(request, writer: writer)
        }
    }
}

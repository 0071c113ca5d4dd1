import GatewayCore
import Synchronization

/// One transfer as the async side sees it: `send()` awaits the head here, `next()` the chunks.
/// Shared by the caller's task and the curl thread; all state lives in a
/// `CurlExchangeStateMachine` behind a lock, and continuations are resumed outside it.
final class CurlExchange: Sendable {
    private struct Head: Sendable {
        var status = 0
        var headers: [(name: String, value: String)] = []
    }

    private let machine: Mutex<CurlExchangeStateMachine>
    /// Written once by the curl thread before the head continuation is resumed.
    private let head = Mutex(Head())
    private let inbox: CurlLoopInbox

    init(inbox: CurlLoopInbox, highWaterMark: Int, lowWaterMark: Int) {
        self.inbox = inbox
        self.machine = Mutex(CurlExchangeStateMachine(highWaterMark: highWaterMark, lowWaterMark: lowWaterMark))
    }

    var isCancelled: Bool { machine.withLock { $0.isCancelled } }

    // MARK: Async side

    /// Hands the request to the curl thread and waits for the response head.
    func start(_ request: UpstreamRequest) async throws(UpstreamFailure) -> UpstreamResponse {
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CurlExchangeStateMachine.HeadContinuation) in
                switch machine.withLock({ $0.headWaiterRegistered(continuation) }) {
                case .startTransfer:
                    if !inbox.enqueue(.start(request, self)) {
                        finished(.failure(UpstreamFailure(.cancelled, "the transport is shut down")))
                    }
                case .fail(let continuation, let failure):
                    continuation.resume(returning: .failure(failure))
                }
            }
        } onCancel: {
            cancel(.task)
        }
        try result.get()
        let head = self.head.withLock { $0 }
        return UpstreamResponse(status: head.status, headers: head.headers, body: CurlBody(exchange: self))
    }

    func next() async throws(UpstreamFailure) -> [UInt8]? {
        switch machine.withLock({ $0.nextChunk() }) {
        case .deliver(let chunk, let unpause):
            if unpause { inbox.enqueue(.unpause(self)) }
            return chunk
        case .end:
            return nil
        case .fail(let failure):
            throw failure
        case .wait:
            break
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CurlExchangeStateMachine.ChunkContinuation) in
                switch machine.withLock({ $0.chunkWaiterRegistered(continuation) }) {
                case .waiting:
                    break
                case .resume(let continuation, let result, let unpause):
                    if unpause { inbox.enqueue(.unpause(self)) }
                    continuation.resume(returning: result)
                }
            }
        } onCancel: {
            cancel(.task)
        }
        return try result.get()
    }

    func cancel(_ reason: CurlExchangeStateMachine.CancelReason) {
        let action = machine.withLock { $0.cancel(reason) }
        if action.abortTransfer { inbox.enqueue(.abort(self)) }
        if let (continuation, failure) = action.head { continuation.resume(returning: .failure(failure)) }
        if let (continuation, result) = action.chunk { continuation.resume(returning: result) }
    }

    // MARK: Curl thread

    /// The response head is complete. Returns false when the consumer is gone and the transfer
    /// should be aborted.
    func headReceived(status: Int, headers: [(name: String, value: String)]) -> Bool {
        self.head.withLock { $0 = Head(status: status, headers: headers) }
        switch machine.withLock({ $0.headReceived() }) {
        case .resume(let continuation):
            continuation.resume(returning: .success(()))
            return true
        case .abort:
            return false
        }
    }

    enum ReceiveOutcome {
        case accepted(buffered: Int)
        case pause
        case abort
    }

    func received(_ bytes: UnsafeRawBufferPointer) -> ReceiveOutcome {
        switch machine.withLock({ $0.received(bytes) }) {
        case .stored(let buffered):
            return .accepted(buffered: buffered)
        case .handOver(let continuation, let chunk):
            continuation.resume(returning: .success(chunk))
            return .accepted(buffered: 0)
        case .pause:
            return .pause
        case .abort:
            return .abort
        }
    }

    func finished(_ result: Result<Void, UpstreamFailure>) {
        switch machine.withLock({ $0.finished(result) }) {
        case .none:
            break
        case .failHead(let continuation, let failure):
            continuation.resume(returning: .failure(failure))
        case .resumeChunk(let continuation, let result):
            continuation.resume(returning: result)
        }
    }
}

/// The body handed out with a response. Dropping the last reference aborts an unfinished transfer.
final class CurlBody: UpstreamBody {
    private let exchange: CurlExchange

    init(exchange: CurlExchange) {
        self.exchange = exchange
    }

    deinit {
        exchange.cancel(.consumer)
    }

    func next() async throws(UpstreamFailure) -> [UInt8]? {
        try await exchange.next()
    }

    func cancel() {
        exchange.cancel(.consumer)
    }
}

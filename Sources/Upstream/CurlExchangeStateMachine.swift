import GatewayCore

/// The consumer-facing half of one transfer: who waits for the response head (`send()`) and for
/// body chunks (`next()`), and the chunks received but not yet taken.
///
/// No locks, no I/O, no clock: `CurlExchange` holds it under a lock and applies the returned
/// actions (resuming continuations, queueing commands for the curl thread) outside the lock.
/// Every continuation is handed out exactly once; impossible transitions trap.
struct CurlExchangeStateMachine {
    typealias HeadContinuation = CheckedContinuation<Result<Void, UpstreamFailure>, Never>
    typealias ChunkContinuation = CheckedContinuation<Result<[UInt8]?, UpstreamFailure>, Never>

    enum Phase {
        /// Not started yet, or `send()` waits for the head.
        case awaitingHead(HeadContinuation?)
        /// The head went to `send()`; the body is being received (and possibly finished, see `end`).
        case receiving
        /// The transfer failed before the head; `send()` threw. Terminal.
        case failedBeforeHead
        /// The consumer gave up. Terminal.
        case cancelled
    }

    /// Why the consumer gave up.
    enum CancelReason {
        /// `UpstreamBody.cancel()` or the body was dropped: a waiting `next()` returns nil.
        case consumer
        /// The awaiting task was cancelled: a waiting `next()` or `send()` throws `.cancelled`.
        case task
    }

    private(set) var phase: Phase = .awaitingHead(nil)
    /// Received, not yet taken by `next()`. Meaningful in `.receiving` only.
    private var chunks = CurlChunkQueue()
    private var chunkWaiter: ChunkContinuation?
    /// The curl side paused the transfer and no unpause was requested since.
    private var pausedForBackPressure = false
    /// Set once the transfer ended (successfully or not); the buffer may still hold chunks.
    private var end: Result<Void, UpstreamFailure>?

    let highWaterMark: Int
    let lowWaterMark: Int

    init(highWaterMark: Int, lowWaterMark: Int) {
        precondition(lowWaterMark < highWaterMark, "the low-water mark must be below the high-water mark")
        self.highWaterMark = highWaterMark
        self.lowWaterMark = lowWaterMark
    }

    var bufferedBytes: Int { chunks.byteCount }

    var isCancelled: Bool {
        if case .cancelled = phase { return true }
        return false
    }

    // MARK: Consumer side

    enum StartAction {
        /// Hand the transfer to the curl thread.
        case startTransfer
        /// Cancelled before it started: resume `send()` with this failure.
        case fail(HeadContinuation, UpstreamFailure)
    }

    mutating func headWaiterRegistered(_ continuation: HeadContinuation) -> StartAction {
        switch phase {
        case .awaitingHead(nil):
            phase = .awaitingHead(continuation)
            return .startTransfer
        case .cancelled:
            return .fail(continuation, UpstreamFailure(.cancelled, "cancelled before the request was sent"))
        case .awaitingHead(.some), .receiving, .failedBeforeHead:
            preconditionFailure("send() registered twice for one transfer")
        }
    }

    enum NextAction {
        case deliver([UInt8], requestUnpause: Bool)
        case end
        case fail(UpstreamFailure)
        /// Nothing yet: register a waiter.
        case wait
    }

    mutating func nextChunk() -> NextAction {
        switch phase {
        case .receiving:
            if let chunk = chunks.popFirst() {
                return .deliver(chunk, requestUnpause: takeUnpauseIfDrained())
            }
            switch end {
            case .none: return .wait
            case .success: return .end
            case .failure(let failure): return .fail(failure)
            }
        case .cancelled:
            return .end
        case .awaitingHead, .failedBeforeHead:
            preconditionFailure("next() called on a body that was never delivered")
        }
    }

    enum WaitAction {
        case waiting
        /// Something arrived between `nextChunk()` and registering: resume at once.
        case resume(ChunkContinuation, Result<[UInt8]?, UpstreamFailure>, requestUnpause: Bool)
    }

    mutating func chunkWaiterRegistered(_ continuation: ChunkContinuation) -> WaitAction {
        precondition(chunkWaiter == nil, "next() called concurrently on one body")
        switch nextChunk() {
        case .deliver(let chunk, let unpause): return .resume(continuation, .success(chunk), requestUnpause: unpause)
        case .end: return .resume(continuation, .success(nil), requestUnpause: false)
        case .fail(let failure): return .resume(continuation, .failure(failure), requestUnpause: false)
        case .wait:
            chunkWaiter = continuation
            return .waiting
        }
    }

    struct CancelAction {
        var head: (HeadContinuation, UpstreamFailure)?
        var chunk: (ChunkContinuation, Result<[UInt8]?, UpstreamFailure>)?
        /// The transfer may still be running on the curl thread: abort it there.
        var abortTransfer = false
    }

    mutating func cancel(_ reason: CancelReason) -> CancelAction {
        let failure = UpstreamFailure(.cancelled, reason == .task ? "task cancelled" : "cancelled by the consumer")
        var action = CancelAction()
        switch phase {
        case .awaitingHead(let continuation):
            phase = .cancelled
            if let continuation {
                action.head = (continuation, failure)
                action.abortTransfer = true
            }
        case .receiving:
            phase = .cancelled
            chunks.removeAll()
            action.abortTransfer = end == nil
            if let waiter = chunkWaiter {
                chunkWaiter = nil
                action.chunk = (waiter, reason == .task ? .failure(failure) : .success(nil))
            }
        case .failedBeforeHead, .cancelled:
            break
        }
        return action
    }

    // MARK: Curl side

    enum HeadAction {
        case resume(HeadContinuation)
        /// The consumer is gone: abort the transfer.
        case abort
    }

    mutating func headReceived() -> HeadAction {
        switch phase {
        case .awaitingHead(.some(let continuation)):
            phase = .receiving
            return .resume(continuation)
        case .cancelled:
            return .abort
        case .awaitingHead(nil), .receiving, .failedBeforeHead:
            preconditionFailure("response head delivered twice or before the transfer started")
        }
    }

    enum ReceiveAction {
        /// Stored; `buffered` is the unconsumed total afterwards.
        case stored(buffered: Int)
        /// A `next()` was waiting: resume it with this chunk.
        case handOver(ChunkContinuation, [UInt8])
        /// Over the high-water mark: the curl side pauses and re-delivers these bytes later.
        case pause
        case abort
    }

    mutating func received(_ bytes: UnsafeRawBufferPointer) -> ReceiveAction {
        switch phase {
        case .receiving:
            precondition(end == nil, "body bytes after the end of the transfer")
            if pausedForBackPressure {
                // libcurl offered bytes again before the unpause: still paused, nothing stored.
                return .pause
            }
            if let waiter = chunkWaiter {
                chunkWaiter = nil
                return .handOver(waiter, [UInt8](bytes))
            }
            if chunks.byteCount >= highWaterMark {
                pausedForBackPressure = true
                return .pause
            }
            chunks.append([UInt8](bytes))
            return .stored(buffered: chunks.byteCount)
        case .cancelled:
            return .abort
        case .awaitingHead, .failedBeforeHead:
            preconditionFailure("body bytes before the response head")
        }
    }

    enum FinishAction {
        case none
        case failHead(HeadContinuation, UpstreamFailure)
        case resumeChunk(ChunkContinuation, Result<[UInt8]?, UpstreamFailure>)
    }

    mutating func finished(_ result: Result<Void, UpstreamFailure>) -> FinishAction {
        switch phase {
        case .awaitingHead(.some(let continuation)):
            guard case .failure(let failure) = result else {
                preconditionFailure("transfer finished successfully without a response head")
            }
            phase = .failedBeforeHead
            return .failHead(continuation, failure)
        case .receiving:
            precondition(end == nil, "transfer finished twice")
            end = result
            guard let waiter = chunkWaiter else { return .none }
            chunkWaiter = nil
            switch result {
            case .success: return .resumeChunk(waiter, .success(nil))
            case .failure(let failure): return .resumeChunk(waiter, .failure(failure))
            }
        case .cancelled:
            return .none
        case .awaitingHead(nil), .failedBeforeHead:
            preconditionFailure("transfer finished before it started or finished twice")
        }
    }

    // MARK: Helpers

    private mutating func takeUnpauseIfDrained() -> Bool {
        guard pausedForBackPressure, chunks.byteCount <= lowWaterMark else { return false }
        pausedForBackPressure = false
        return end == nil
    }
}

import Foundation
import GatewayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One queued call: what to run on a connection, its deadline, and its caller, resumed once
/// (by the worker, or by the watchdog at the deadline, whichever comes first).
final class RedisCall: Sendable {
    typealias Work = @Sendable (RedisConnection, _ deadline: UInt64) throws(RedisError) -> RedisReply

    let deadline: UInt64
    let work: Work
    private let continuation: CheckedContinuation<Result<RedisReply, RedisError>, Never>
    private let resumed = Atomic<Bool>(false)

    init(
        deadline: UInt64, work: @escaping Work,
        continuation: CheckedContinuation<Result<RedisReply, RedisError>, Never>
    ) {
        self.deadline = deadline
        self.work = work
        self.continuation = continuation
    }

    var isResumed: Bool { resumed.load(ordering: .acquiring) }

    func resume(_ result: Result<RedisReply, RedisError>) {
        guard !resumed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        continuation.resume(returning: result)
    }
}

/// The reconnect backoff shared by every connection of a client: after a failed connect, calls
/// fail at once (no connect attempt) until `retryAt`; each failed attempt doubles the wait up to
/// the cap, a successful one resets it.
struct RedisBackoff: Sendable {
    let initial: UInt64
    let cap: UInt64
    private(set) var delay: UInt64 = 0
    private(set) var retryAt: UInt64 = 0
    private(set) var lastError: RedisError?

    init(initial: Duration, cap: Duration) {
        self.initial = UInt64(max(1_000_000, initial.nanoseconds))
        self.cap = max(self.initial, UInt64(max(0, cap.nanoseconds)))
    }

    /// The error to fail with at `now` without trying, or nil when a connect may be attempted.
    func refusal(at now: UInt64) -> RedisError? {
        guard now < retryAt, let lastError else { return nil }
        let millis = (retryAt - now + 999_999) / 1_000_000
        return RedisError(lastError.code, "\(lastError.message) (next connect attempt in \(millis) ms)")
    }

    mutating func failed(_ error: RedisError, at now: UInt64) {
        delay = delay == 0 ? initial : min(cap, delay * 2)
        retryAt = now + delay
        lastError = error
    }

    mutating func succeeded() {
        delay = 0
        retryAt = 0
        lastError = nil
    }
}

/// Dedicated threads, one per connection, that run blocking hiredis calls off the Swift
/// cooperative pool, and one watchdog thread that fails every call still queued or running at
/// its deadline (the socket timeout bounds each read and write, the watchdog the whole call,
/// including its wait in the queue).
final class RedisWorkers: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [RedisCall] = []
    private var head = 0
    private var running: [RedisCall?]
    private var stopped = false
    private let backoff: Mutex<RedisBackoff>
    private let tick: UInt64

    init(endpoint: RedisEndpoint, connections: Int, timeout: Duration, backoff: RedisBackoff) {
        self.running = Array(repeating: nil, count: max(1, connections))
        self.backoff = Mutex(backoff)
        self.tick = UInt64(min(50_000_000, max(1_000_000, timeout.nanoseconds / 10)))
        for index in running.indices {
            let thread = Thread { [self] in self.serve(index, RedisConnection(endpoint: endpoint)) }
            thread.name = "llmgw-redis-\(index)"
            thread.start()
        }
        let watchdog = Thread { [self] in self.watch() }
        watchdog.name = "llmgw-redis-watchdog"
        watchdog.start()
    }

    func enqueue(_ call: RedisCall) {
        condition.lock()
        defer { condition.unlock() }
        guard !stopped else {
            call.resume(.failure(RedisError(.shutdown, "the Redis client was shut down")))
            return
        }
        queue.append(call)
        condition.signal()
    }

    func stop() {
        condition.lock()
        stopped = true
        let pending = queue[head...]
        queue = []
        head = 0
        condition.broadcast()
        condition.unlock()
        for call in pending { call.resume(.failure(RedisError(.shutdown, "the Redis client was shut down"))) }
    }

    private func next(_ index: Int) -> RedisCall? {
        condition.lock()
        defer { condition.unlock() }
        running[index] = nil
        while head == queue.count {
            if stopped { return nil }
            condition.wait()
        }
        let call = queue[head]
        head += 1
        if head > 256 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        running[index] = call
        return call
    }

    private func serve(_ index: Int, _ connection: RedisConnection) {
        Self.blockSIGPIPE()
        while let call = next(index) {
            guard !call.isResumed else { continue }  // the watchdog already told it
            guard RedisClock.now() < call.deadline else {
                call.resume(.failure(Self.timedOut))
                continue
            }
            call.resume(run(call, on: connection))
        }
        connection.close()
    }

    private func run(_ call: RedisCall, on connection: RedisConnection) -> Result<RedisReply, RedisError> {
        do throws(RedisError) {
            if !connection.isConnected {
                let now = RedisClock.now()
                if let refusal = backoff.withLock({ $0.refusal(at: now) }) { return .failure(refusal) }
                do throws(RedisError) {
                    try connection.connect(deadline: call.deadline)
                    backoff.withLock { $0.succeeded() }
                } catch {
                    backoff.withLock { $0.failed(error, at: RedisClock.now()) }
                    throw error
                }
            }
            return .success(try call.work(connection, call.deadline))
        } catch {
            return .failure(error)
        }
    }

    private func watch() {
        while true {
            usleep(UInt32(tick / 1000))
            let now = RedisClock.now()
            condition.lock()
            if stopped {
                condition.unlock()
                return
            }
            var expired = running.compactMap { $0 }.filter { $0.deadline <= now && !$0.isResumed }
            // One timeout for every call and a FIFO queue: deadlines are in order.
            var index = head
            while index < queue.count, queue[index].deadline <= now {
                if !queue[index].isResumed { expired.append(queue[index]) }
                index += 1
            }
            condition.unlock()
            for call in expired {
                call.resume(.failure(RedisError(.timeout, "the shared Redis did not answer in time")))
            }
        }
    }

    private static let timedOut = RedisError(.timeout, "the shared Redis did not answer in time")

    /// A write to a connection the server closed raises SIGPIPE in the writing thread; blocked
    /// here, the write fails with EPIPE instead of killing the process.
    private static func blockSIGPIPE() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to the Int64 range.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds.multipliedSaturating(by: 1_000_000_000).addingSaturating(attoseconds / 1_000_000_000)
    }
}

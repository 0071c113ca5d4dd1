import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Runs LMDB transactions on dedicated threads, never on Swift's cooperative pool, with a
/// bounded wait for the caller.
///
/// LMDB's writer lock is a process-shared mutex with no timeout: a sidecar stopped (SIGSTOP,
/// debugger, frozen cgroup) while it holds the lock blocks every other writer on the host. Run on
/// cooperative threads, a few such waits would stop the whole process; here they block only the
/// writer thread, while the event loops, running streams and read transactions go on.
///
/// - Writes go to one writer thread (LMDB admits one writer at a time anyway), in order.
/// - Reads go to a small pool of reader threads (each holds at most one reader slot).
/// - Every call waits at most `timeout` (give or take a tenth of it), then throws
///   `StoreError.Code.timeout`. A write the caller gave up on never commits afterwards (`write`),
///   unless it must not be lost (`writeDetached`, for settlement): then it still commits once the
///   lock is free. Deadlines are watched by one thread per executor that wakes every tenth of the
///   timeout and looks only at jobs that can have expired (queues are FIFO with one timeout, so
///   deadlines are in order): no timer per transaction.
public final class LMDBExecutor: Sendable {
    public struct Configuration: Sendable {
        /// How long a caller waits for its transaction (`state.lock_timeout`).
        public var timeout: Duration
        public var readerThreads: Int
        /// Writes queued beyond this are refused at once (timeout error) instead of piling up.
        public var maxQueuedWrites: Int

        public init(timeout: Duration = .milliseconds(500), readerThreads: Int = 2, maxQueuedWrites: Int = 100_000) {
            self.timeout = timeout
            self.readerThreads = readerThreads
            self.maxQueuedWrites = maxQueuedWrites
        }
    }

    public let environment: LMDBEnvironment
    public let configuration: Configuration
    private let writes: JobQueue
    private let reads: JobQueue
    private let watchdog: Watchdog

    public init(environment: LMDBEnvironment, configuration: Configuration = .init()) {
        self.environment = environment
        self.configuration = configuration
        self.writes = JobQueue(name: "llmgw-lmdb-writer", threads: 1, limit: configuration.maxQueuedWrites)
        self.reads = JobQueue(
            name: "llmgw-lmdb-reader", threads: max(1, configuration.readerThreads),
            limit: configuration.maxQueuedWrites)
        self.watchdog = Watchdog(queues: [writes, reads], tick: configuration.timeout / 10)
    }

    deinit {
        watchdog.stop()
        writes.stop()
        reads.stop()
    }

    /// A read transaction on a reader thread.
    public func read<T: Sendable>(_ body: @escaping @Sendable (LMDBTransaction) throws -> T) async throws -> T {
        try await submit(to: reads, mustComplete: false) { environment, job in
            try environment.withReadTransaction(body)
        }
    }

    /// A write transaction on the writer thread. If the caller stops waiting (timeout), the
    /// transaction aborts instead of committing: what the caller was told is what happened.
    public func write<T: Sendable>(
        onMapFull: (@Sendable (LMDBTransaction) throws -> Void)? = nil,
        _ body: @escaping @Sendable (LMDBTransaction) throws -> T
    ) async throws -> T {
        try await submit(to: writes, mustComplete: false) { environment, job in
            try environment.withWriteTransaction(onMapFull: onMapFull) { transaction in
                let value = try body(transaction)
                guard job.beginCommit() else { throw Abandoned() }
                return value
            }
        }
    }

    /// A write that must not be lost (usage settlement): the caller waits at most `timeout`,
    /// but the transaction commits whenever the writer lock becomes free.
    public func writeDetached(_ body: @escaping @Sendable (LMDBTransaction) throws -> Void) async throws {
        try await submit(to: writes, mustComplete: true) { environment, _ in
            try environment.withWriteTransaction(body)
        }
    }

    private func submit<T: Sendable>(
        to queue: JobQueue,
        mustComplete: Bool,
        _ work: @escaping @Sendable (LMDBEnvironment, Job) throws -> T
    ) async throws -> T {
        let environment = self.environment
        let timeout = configuration.timeout
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(mustComplete: mustComplete, deadline: Watchdog.now() &+ UInt64(timeout.saturatingNanoseconds))
            job.expire = {
                continuation.resume(
                    throwing: StoreError(
                        .timeout,
                        "the shared state did not answer within \(timeout) (another sidecar may hold its writer lock)"))
            }
            job.work = { job in
                guard let resume = job.start() else { return }  // the caller gave up while it was queued
                do {
                    let value = try work(environment, job)
                    if job.finish() && resume { continuation.resume(returning: value) }
                } catch is Abandoned {
                    // Aborted because the caller stopped waiting; it was already told.
                } catch {
                    if job.finish() && resume { continuation.resume(throwing: error) }
                }
            }
            guard queue.enqueue(job) else {
                job.expire = nil
                continuation.resume(
                    throwing: StoreError(.timeout, "the shared state's \(queue.name) queue is full"))
                return
            }
        }
    }

    private struct Abandoned: Error {}
}

/// One queued transaction and the hand-over between its thread and its waiting caller.
final class Job: @unchecked Sendable {
    private enum State: UInt8 {
        case queued, running, committing, finished
        /// The caller stopped waiting; the work must not take effect.
        case abandoned
        /// The caller stopped waiting; the work still runs (`mustComplete`).
        case detached
    }

    private let state = Atomic<UInt8>(State.queued.rawValue)
    let mustComplete: Bool
    /// When the caller stops waiting (`Watchdog.now()` nanoseconds).
    let deadline: UInt64
    /// Set once before the job is queued; run once on an executor thread.
    var work: ((Job) -> Void)?
    /// Tells the caller it timed out; called once, by the watchdog, after `giveUp()` succeeded.
    var expire: (() -> Void)?

    init(mustComplete: Bool, deadline: UInt64) {
        self.mustComplete = mustComplete
        self.deadline = deadline
    }

    /// True once the work ran or the caller was told it timed out: nothing left to watch.
    var isSettled: Bool {
        let current = load()
        return current == .finished || current == .abandoned || current == .detached
    }

    /// Called by the thread before the work: nil to skip it, else whether to resume the caller.
    func start() -> Bool? {
        if transition(from: .queued, to: .running) { return true }
        return load() == .detached ? false : nil
    }

    /// Called inside a write transaction before it commits: false when the caller gave up.
    func beginCommit() -> Bool {
        if transition(from: .running, to: .committing) { return true }
        let current = load()
        return current == .committing || current == .detached
    }

    /// Called after the work: true when the caller is still waiting for the result.
    func finish() -> Bool {
        transition(from: .running, to: .finished) || transition(from: .committing, to: .finished)
    }

    /// Called at the deadline: true when the caller must now be told it timed out.
    func giveUp() -> Bool {
        let target: State = mustComplete ? .detached : .abandoned
        return transition(from: .queued, to: target) || transition(from: .running, to: target)
    }

    private func load() -> State { State(rawValue: state.load(ordering: .acquiring))! }

    private func transition(from: State, to: State) -> Bool {
        state.compareExchange(expected: from.rawValue, desired: to.rawValue, ordering: .acquiringAndReleasing)
            .exchanged
    }
}

/// A FIFO of jobs served by dedicated threads (pthread mutex and condition variable: the
/// threads block there, not on the cooperative pool).
final class JobQueue: @unchecked Sendable {
    let name: String
    private let limit: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [Job] = []
    private var head = 0
    /// Jobs before this index were past their deadline when the watchdog last looked.
    private var watched = 0
    /// The job each thread is running (nil when idle), for the watchdog.
    private var running: [Job?]
    private var stopped = false

    init(name: String, threads: Int, limit: Int) {
        self.name = name
        self.limit = limit
        self.running = Array(repeating: nil, count: threads)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        for index in 0..<threads {
            let thread = Thread { [self] in self.serve(index) }
            thread.name = threads == 1 ? name : "\(name)-\(index)"
            thread.start()
        }
    }

    /// False when the queue is at its limit or stopped.
    func enqueue(_ job: Job) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard !stopped, jobs.count - head < limit else { return false }
        jobs.append(job)
        pthread_cond_signal(condition)
        return true
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    private func serve(_ index: Int) {
        while let job = next(index) {
            job.work?(job)
            job.work = nil
        }
        pthread_mutex_lock(mutex)
        running[index] = nil
        pthread_mutex_unlock(mutex)
    }

    /// The next job for thread `index` (which finished its previous one).
    private func next(_ index: Int) -> Job? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        running[index] = nil
        while head == jobs.count {
            if stopped { return nil }
            pthread_cond_wait(condition, mutex)
        }
        let job = jobs[head]
        head += 1
        watched = max(watched, head)
        if head > 1024 && head * 2 > jobs.count {
            jobs.removeFirst(head)
            watched -= head
            head = 0
        }
        running[index] = job
        return job
    }

    /// Jobs past `now` that may still have a waiting caller: the running ones, and the queued
    /// ones from the oldest not yet seen expired (deadlines are in queue order).
    func expired(at now: UInt64) -> [Job] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var found = running.compactMap { $0 }.filter { $0.deadline <= now && !$0.isSettled }
        while watched < jobs.count, jobs[watched].deadline <= now {
            found.append(jobs[watched])
            watched += 1
        }
        return found
    }
}

/// Tells callers whose transaction is still queued or running at its deadline that it timed out,
/// from one thread per executor.
final class Watchdog: @unchecked Sendable {
    private let queues: [JobQueue]
    private let tickNanoseconds: UInt64
    private let stopped = Atomic<Bool>(false)

    init(queues: [JobQueue], tick: Duration) {
        self.queues = queues
        self.tickNanoseconds = UInt64(max(1_000_000, min(tick.saturatingNanoseconds, 100_000_000)))
        let thread = Thread { [self] in self.watch() }
        thread.name = "llmgw-lmdb-watchdog"
        thread.start()
    }

    func stop() { stopped.store(true, ordering: .relaxed) }

    private func watch() {
        while !stopped.load(ordering: .relaxed) {
            usleep(UInt32(tickNanoseconds / 1000))
            let now = Self.now()
            for queue in queues {
                for job in queue.expired(at: now) where job.giveUp() {
                    job.expire?()
                    job.expire = nil
                }
            }
        }
    }

    /// Monotonic nanoseconds.
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to the Int64 range (never negative here: timeouts are positive).
    var saturatingNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return max(0, seconds.multipliedSaturating(by: 1_000_000_000).addingSaturating(attoseconds / 1_000_000_000))
    }
}

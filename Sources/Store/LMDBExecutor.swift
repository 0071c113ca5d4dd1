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
/// - Writes go to one writer thread (LMDB admits one writer at a time anyway), in order, and are
///   committed in groups (see *Group commit*).
/// - Reads go to a small pool of reader threads (each holds at most one reader slot).
/// - Every call waits at most `timeout` (give or take a tenth of it), then throws
///   `StoreError.Code.timeout`. A write the caller gave up on never commits afterwards (`write`),
///   unless it must not be lost (`writeDetached`, for settlement): then it still commits once the
///   lock is free. Deadlines are watched by one thread per executor that wakes every tenth of the
///   timeout and looks only at jobs that can have expired (queues are FIFO with one timeout, so
///   deadlines are in order): no timer per transaction.
///
/// **Group commit.** A request makes about four small write transactions, and with one
/// transaction per job the writer thread slept and was woken once per job: the futex wake-ups
/// cost far more than LMDB itself. So when the writer wakes it takes every queued write (at most
/// `maxBatch`), begins ONE write transaction (one turn of the cross-process writer lock, one
/// commit, one fsync under `durability: full`), and runs each job in a nested transaction of it:
/// a job that throws aborts only its own nested transaction and gets its own error, the others'
/// changes stay. Then the outer transaction commits and every caller of the batch is resumed; if
/// that commit fails, every job that had succeeded gets its error (nothing of the batch
/// committed). A caller is told only after the outer commit, so what it is told is what happened.
/// A job meeting a full map ends the batch there: what came before commits, and the job runs
/// alone as it would have without batching (`onMapFull`, then one retry), and the batch goes on
/// after it; a full map at the outer commit reruns the batch's jobs one transaction each. The
/// bound keeps one batch from holding the writer lock (which the other sidecars wait for) long.
/// A batch of one job is a plain transaction of its own, exactly as before batching.
/// Enqueuing signals the writer only when it is idle, so a busy writer costs callers no wake-up.
public final class LMDBExecutor: Sendable {
    public struct Configuration: Sendable {
        /// How long a caller waits for its transaction (`state.lock_timeout`).
        public var timeout: Duration
        public var readerThreads: Int
        /// Writes queued beyond this are refused at once (timeout error) instead of piling up.
        public var maxQueuedWrites: Int
        /// Most write jobs committed together in one transaction (group commit).
        public var maxBatch: Int

        public init(
            timeout: Duration = .milliseconds(500), readerThreads: Int = 2, maxQueuedWrites: Int = 100_000,
            maxBatch: Int = 64
        ) {
            self.timeout = timeout
            self.readerThreads = readerThreads
            self.maxQueuedWrites = maxQueuedWrites
            self.maxBatch = maxBatch
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
        let groupCommit = GroupCommit(environment: environment)
        self.writes = JobQueue(
            name: "llmgw-lmdb-writer", threads: 1, limit: configuration.maxQueuedWrites,
            batch: max(1, configuration.maxBatch)
        ) { jobs in groupCommit.run(jobs) }
        self.reads = JobQueue(
            name: "llmgw-lmdb-reader", threads: max(1, configuration.readerThreads),
            limit: configuration.maxQueuedWrites, batch: 1
        ) { jobs in
            for job in jobs {
                job.work?(job)
                job.work = nil
            }
        }
        self.watchdog = Watchdog(queues: [writes, reads], tick: configuration.timeout / 10)
    }

    deinit {
        watchdog.stop()
        writes.stop()
        reads.stop()
    }

    /// Writes waiting for the writer thread (not counting the batch it is running), for tests.
    var queuedWrites: Int { writes.queued }

    /// A read transaction on a reader thread.
    public func read<T: Sendable>(_ body: @escaping @Sendable (LMDBTransaction) throws -> T) async throws -> T {
        let environment = self.environment
        return try await submit(to: reads, mustComplete: false) { job, continuation in
            job.work = { job in
                guard let resume = job.start() else { return }  // the caller gave up while it was queued
                do {
                    let value = try environment.withReadTransaction(body)
                    if job.finish() && resume { continuation.resume(returning: value) }
                } catch {
                    if job.finish() && resume { continuation.resume(throwing: error) }
                }
            }
        }
    }

    /// A write transaction on the writer thread (committed with the other writes of its batch).
    /// If the caller stops waiting (timeout), the transaction aborts instead of committing: what
    /// the caller was told is what happened.
    public func write<T: Sendable>(
        onMapFull: (@Sendable (LMDBTransaction) throws -> Void)? = nil,
        _ body: @escaping @Sendable (LMDBTransaction) throws -> T
    ) async throws -> T {
        try await submitWrite(mustComplete: false, onMapFull: onMapFull) { transaction, job in
            let value = try body(transaction)
            // From here the watchdog can no longer give up on the job: its caller waits for the
            // batch's commit.
            guard job.beginCommit() else { throw AbandonedWrite() }
            return value
        }
    }

    /// A write that must not be lost (usage settlement): the caller waits at most `timeout`,
    /// but the transaction commits whenever the writer lock becomes free.
    public func writeDetached(_ body: @escaping @Sendable (LMDBTransaction) throws -> Void) async throws {
        try await submitWrite(mustComplete: true, onMapFull: nil) { transaction, _ in try body(transaction) }
    }

    private func submitWrite<T: Sendable>(
        mustComplete: Bool,
        onMapFull: ((LMDBTransaction) throws -> Void)?,
        _ body: @escaping @Sendable (LMDBTransaction, Job) throws -> T
    ) async throws -> T {
        try await submit(to: writes, mustComplete: mustComplete) { job, continuation in
            job.write = TypedWriteWork(onMapFull: onMapFull, body: body, continuation: continuation)
        }
    }

    /// Queues a job that `prepare` equipped to resume `continuation`, and waits for it.
    private func submit<T: Sendable>(
        to queue: JobQueue,
        mustComplete: Bool,
        _ prepare: (Job, CheckedContinuation<T, any Error>) -> Void
    ) async throws -> T {
        let timeout = configuration.timeout
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let job = Job(mustComplete: mustComplete, deadline: Watchdog.now() &+ UInt64(timeout.saturatingNanoseconds))
            job.expire = {
                continuation.resume(
                    throwing: StoreError(
                        .timeout,
                        "the shared state did not answer within \(timeout) (another sidecar may hold its writer lock)"))
            }
            prepare(job, continuation)
            guard queue.enqueue(job) else {
                job.expire = nil
                job.work = nil
                job.write = nil
                continuation.resume(
                    throwing: StoreError(.timeout, "the shared state's \(queue.name) queue is full"))
                return
            }
        }
    }
}

/// Thrown inside a `write` whose caller stopped waiting: its (nested) transaction aborts, and the
/// caller, already told it timed out, is not resumed again.
struct AbandonedWrite: Error {}

/// A write job's part in group commit, used only by the writer thread once the job is queued:
/// `run` does the caller's work inside a (nested) transaction and keeps the value; `succeed` or
/// `fail` hands the outcome to the caller once the batch is over. One object per write
/// (`TypedWriteWork` holds the body, the continuation and the value): batching allocates no
/// more per job than a transaction of its own did.
class WriteWork {
    enum Outcome {
        /// Not run (yet).
        case pending
        /// The caller gave up while the job was queued: never run, never told again.
        case skipped
        /// Its changes are in the transaction; the value is kept for the caller.
        case succeeded
        case failed(any Error)
    }

    /// Frees map space when the job meets a full map (`LMDBEnvironment.withWriteTransaction`).
    let onMapFull: ((LMDBTransaction) throws -> Void)?
    var outcome = Outcome.pending
    /// False for a detached write whose caller was already told it timed out.
    var resumes = true

    init(onMapFull: ((LMDBTransaction) throws -> Void)?) { self.onMapFull = onMapFull }

    /// Runs the caller's work in `transaction` and keeps its value; throws what the work throws.
    func run(_ transaction: LMDBTransaction, _ job: Job) throws { fatalError("overridden") }
    /// Resumes the caller with the kept value.
    func succeed() { fatalError("overridden") }
    /// Resumes the caller with `error`.
    func fail(_ error: any Error) { fatalError("overridden") }

    /// Records what running gave (a full map is for the caller of `run` to handle).
    func record(_ body: () throws -> Void) {
        do {
            try body()
            outcome = .succeeded
        } catch {
            outcome = .failed(error)
        }
    }
}

final class TypedWriteWork<T: Sendable>: WriteWork {
    private let body: (LMDBTransaction, Job) throws -> T
    private let continuation: CheckedContinuation<T, any Error>
    private var value: T?

    init(
        onMapFull: ((LMDBTransaction) throws -> Void)?,
        body: @escaping (LMDBTransaction, Job) throws -> T,
        continuation: CheckedContinuation<T, any Error>
    ) {
        self.body = body
        self.continuation = continuation
        super.init(onMapFull: onMapFull)
    }

    override func run(_ transaction: LMDBTransaction, _ job: Job) throws { value = try body(transaction, job) }
    override func succeed() { continuation.resume(returning: value!) }
    override func fail(_ error: any Error) { continuation.resume(throwing: error) }
}

/// The writer thread's side of group commit (see `LMDBExecutor`): runs one batch of write jobs.
struct GroupCommit: Sendable {
    let environment: LMDBEnvironment

    /// Runs `jobs` (in queue order) in as few transactions as it can (one, unless the map is
    /// full), then tells every caller still waiting, in one go. A batch of one is a plain
    /// transaction of its own, as before batching: no nested transaction to pay for.
    func run(_ jobs: [Job]) {
        for job in jobs {
            guard let work = job.write else { continue }
            // A job whose caller gave up while it was queued is skipped (never commits).
            if let resumes = job.start() { work.resumes = resumes } else { work.outcome = .skipped }
        }
        if jobs.count == 1, let work = jobs[0].write {
            if case .pending = work.outcome { runAlone(jobs[0], work) }
        } else {
            var next = 0
            while next < jobs.count { next = runTogether(jobs, from: next) }
        }
        for job in jobs {
            if let work = job.write { tell(job, work) }
            job.write = nil
        }
    }

    /// Runs the pending jobs of `jobs[start...]` in one outer transaction, each in a nested one,
    /// until one meets a full map: then the outer transaction commits what came before, that job
    /// runs alone, and the index after it is returned (else `jobs.count`).
    private func runTogether(_ jobs: [Job], from start: Int) -> Int {
        let pending = jobs[start...].contains { job in
            guard case .pending = job.write?.outcome else { return false }
            return true
        }
        guard pending else { return jobs.count }
        var end = jobs.count
        do {
            try environment.withWriteBatch { batch in
                for index in start..<jobs.count {
                    guard let work = jobs[index].write, case .pending = work.outcome else { continue }
                    work.record { try batch.nested { try work.run($0, jobs[index]) } }
                    if case .failed(let error as StoreError) = work.outcome, error.code == .mapFull {
                        work.outcome = .pending
                        end = index
                        return
                    }
                }
            }
        } catch let error as StoreError where error.code == .mapFull {
            // Only the outer commit can meet a full map here (the jobs' own are handled above), and
            // nothing of the batch committed: run each succeeded job again alone, as without
            // batching (with its `onMapFull` and one retry).
            for job in jobs[start..<end] {
                if let work = job.write, case .succeeded = work.outcome { runAlone(job, work) }
            }
        } catch {
            // The outer transaction did not begin or did not commit: nothing of it happened.
            for job in jobs[start..<end] {
                if let work = job.write, case .succeeded = work.outcome { work.outcome = .failed(error) }
            }
        }
        guard end < jobs.count, let work = jobs[end].write else { return end }
        runAlone(jobs[end], work)
        return end + 1
    }

    /// One job in a transaction of its own, with the map-full handling of a single write.
    private func runAlone(_ job: Job, _ work: WriteWork) {
        work.record { try environment.withWriteTransaction(onMapFull: work.onMapFull) { try work.run($0, job) } }
    }

    /// Resumes the job's caller with its outcome, if it is still waiting.
    private func tell(_ job: Job, _ work: WriteWork) {
        switch work.outcome {
        case .skipped:
            return
        case .succeeded:
            if job.finish() && work.resumes { work.succeed() }
        case .failed(let error):
            if error is AbandonedWrite { return }  // already told it timed out
            if job.finish() && work.resumes { work.fail(error) }
        case .pending:
            if job.finish() && work.resumes {
                work.fail(StoreError(.io, "the write was not run (internal error of the batch)"))
            }
        }
    }
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
    /// A read: set once before the job is queued; run once on a reader thread.
    var work: ((Job) -> Void)?
    /// A write: set once before the job is queued; run by the writer thread in a batch.
    var write: WriteWork?
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
/// threads block there, not on the cooperative pool). Each turn a thread takes up to `batch`
/// jobs at once and hands them to `serve`.
///
/// Wake-ups are what made the writer slow (a futex wake per job), so `enqueue` signals only when
/// a thread is idle and not already signalled: while the threads are busy, jobs just join the
/// queue and the next turn takes them all.
final class JobQueue: @unchecked Sendable {
    let name: String
    private let limit: Int
    private let batch: Int
    private let serve: ([Job]) -> Void
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [Job] = []
    private var head = 0
    /// Jobs before this index were past their deadline when the watchdog last looked.
    private var watched = 0
    /// The jobs each thread is running (empty when idle), for the watchdog.
    private var running: [[Job]]
    /// Threads waiting on `condition`, and signals sent to them not yet taken up.
    private var idle = 0
    private var wakeups = 0
    private var stopped = false

    init(name: String, threads: Int, limit: Int, batch: Int, serve: @escaping @Sendable ([Job]) -> Void) {
        self.name = name
        self.limit = limit
        self.batch = batch
        self.serve = serve
        self.running = Array(repeating: [], count: threads)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        for index in 0..<threads {
            let thread = Thread { [self] in self.loop(index) }
            thread.name = threads == 1 ? name : "\(name)-\(index)"
            thread.start()
        }
    }

    /// Jobs not taken by a thread yet.
    var queued: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return jobs.count - head
    }

    /// False when the queue is at its limit or stopped.
    func enqueue(_ job: Job) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard !stopped, jobs.count - head < limit else { return false }
        jobs.append(job)
        if idle > wakeups {
            wakeups += 1
            pthread_cond_signal(condition)
        }
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

    private func loop(_ index: Int) {
        while let taken = next(index) { serve(taken) }
        pthread_mutex_lock(mutex)
        running[index] = []
        pthread_mutex_unlock(mutex)
    }

    /// The next jobs for thread `index` (which finished its previous ones): every queued job, up
    /// to `batch`, in queue order; nil once stopped.
    private func next(_ index: Int) -> [Job]? {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        running[index].removeAll(keepingCapacity: true)
        while head == jobs.count {
            if stopped { return nil }
            idle += 1
            pthread_cond_wait(condition, mutex)
            idle -= 1
            wakeups = max(0, wakeups - 1)
        }
        let end = min(jobs.count, head + batch)
        // Into the thread's own buffer (unshared again by now): no allocation per turn.
        running[index].append(contentsOf: jobs[head..<end])
        head = end
        watched = max(watched, head)
        if head > 1024 && head * 2 > jobs.count {
            jobs.removeFirst(head)
            watched -= head
            head = 0
        }
        return running[index]
    }

    /// Jobs past `now` that may still have a waiting caller: the running ones, and the queued
    /// ones from the oldest not yet seen expired (deadlines are in queue order).
    func expired(at now: UInt64) -> [Job] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        var found = running.joined().filter { $0.deadline <= now && !$0.isSettled }
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

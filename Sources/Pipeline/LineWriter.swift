import GatewayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes whole lines to a file descriptor (stdout by default) from a dedicated thread, so a slow or
/// stalled reader of the log never stalls a request: `write(line:)` only appends to a bounded queue.
/// Lines from concurrent requests never interleave (each batch is written in order, whole lines only).
///
/// When the queue is full (`capacityBytes` waiting), new lines are dropped and counted; as soon as the
/// writer gets through again it writes one `log lines dropped` line with the count, so no line is ever
/// lost silently. `droppedLines` is the running total for metrics. Shared by the access log and the
/// operational log.
///
/// `open(file:)` sends the lines to a file instead (`log.file`), and `reopen()` opens that path
/// again after logrotate has moved it (SIGUSR1). The writer thread switches descriptors between two
/// batches, so every line lands whole in one file or the other; nothing queued is lost.
public final class LineWriter: @unchecked Sendable {
    // Invariant for @unchecked Sendable: every `var` below is read and written only with `mutex` held,
    // except `descriptor`, which only the writer thread changes (in `nextBatch`, holding `mutex`).
    private var descriptor: Int32
    /// The descriptor was opened by `open(file:)` and is closed when replaced.
    private var ownsDescriptor = false
    /// A newly opened file, taken over by the writer thread before its next batch.
    private var pendingDescriptor: Int32?
    /// The `log.file` path and creation mode, once `open(file:)` succeeded.
    private var file: (path: String, mode: mode_t)?
    private var capacityBytes: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled when a line is queued or the writer is asked to stop.
    private let work = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Signalled when everything queued has been written.
    private let idle = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [[UInt8]] = []
    /// Bytes queued or being written.
    private var pendingBytes = 0
    private var writing = false
    private var droppedSinceReport = 0
    private var stopping = false
    /// A caller waits in `flush`: write what is queued without lingering.
    private var flushing = 0
    private let dropped = Atomic<Int>(0)

    /// How long the writer lets lines gather after the first one arrives, so that a busy gateway
    /// wakes its log thread once per batch instead of once per request (a thread wake-up costs more
    /// than formatting the line). Lines reach the descriptor at most this much later.
    static let linger: Duration = .milliseconds(5)
    /// Queued bytes that end the linger at once.
    static let batchBytes = 64 * 1024

    /// - Parameter capacityBytes: the most bytes that may wait for the descriptor (`log.queue_bytes`).
    public init(descriptor: Int32 = 1, capacityBytes: Int = 8 * 1024 * 1024) {
        self.descriptor = descriptor
        self.capacityBytes = capacityBytes
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(work, nil)
        pthread_cond_init(idle, nil)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(
            &thread, nil,
            { context in
                let writer = Unmanaged<LineWriter>.fromOpaque(context!).takeRetainedValue()
                writer.run()
                return nil
            }, context)
        precondition(created == 0, "cannot start the log writer thread")
        pthread_detach(thread)
    }

    /// The process's log: stdout, until `serve` sends it to `log.file` with `open(file:)`.
    public static let standardOutput = LineWriter(descriptor: 1)

    /// Changes how many bytes may wait for the descriptor (`log.queue_bytes`).
    public func setCapacity(bytes: Int) {
        locked { capacityBytes = bytes }
    }

    /// Sends every later line to the file at `path` (created with `mode`, appended to; an existing
    /// file keeps its mode). Throws when it cannot be opened for writing; the lines then go on to
    /// where they went before.
    public func open(file path: String, mode: mode_t = 0o640) throws(LogFileError) {
        let opened = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode)
        guard opened >= 0 else { throw LogFileError(path: path, code: errno) }
        locked {
            if let replaced = pendingDescriptor { close(replaced) }
            pendingDescriptor = opened
            file = (path, mode)
            pthread_cond_signal(work)
        }
    }

    /// Opens the `log.file` path again (after rotation moved the old file away) and sends later
    /// lines there. Returns false, doing nothing, when the writer writes to a descriptor it was given.
    /// On failure the writer keeps writing to the file it has.
    @discardableResult
    public func reopen() throws(LogFileError) -> Bool {
        guard let file = locked({ file }) else { return false }
        try open(file: file.path, mode: file.mode)
        return true
    }

    /// The `log.file` path the lines go to, nil while they go to the descriptor given at `init`.
    public var filePath: String? { locked { file?.path } }

    /// Lines dropped so far because the queue was full or the descriptor failed.
    public var droppedLines: Int { dropped.load(ordering: .relaxed) }

    /// Queues `line` followed by a newline. Never blocks on the descriptor.
    public func write(line: [UInt8]) {
        var bytes = line
        bytes.append(0x0A)
        locked {
            guard !stopping, pendingBytes + bytes.count <= capacityBytes else {
                droppedSinceReport += 1
                dropped.add(1, ordering: .relaxed)
                return
            }
            pendingBytes += bytes.count
            queue.append(bytes)
            // The writer sleeps only while the queue is empty, or lingers until the batch is big.
            if queue.count == 1 || pendingBytes >= Self.batchBytes { pthread_cond_signal(work) }
        }
    }

    /// Waits until every queued line is written, or `timeout` has passed. Returns true when drained.
    @discardableResult
    public func flush(timeout: Duration = .seconds(2)) -> Bool {
        let deadline = Self.realtime(after: timeout)
        return locked {
            flushing += 1
            defer { flushing -= 1 }
            pthread_cond_signal(work)
            var deadline = deadline
            while !queue.isEmpty || writing || droppedSinceReport > 0 {
                if pthread_cond_timedwait(idle, mutex, &deadline) == ETIMEDOUT { return false }
            }
            return true
        }
    }

    /// Writes what is queued (up to `timeout`) and ends the writer thread; later lines are dropped.
    public func shutdown(timeout: Duration = .seconds(2)) {
        flush(timeout: timeout)
        locked {
            stopping = true
            pthread_cond_signal(work)
        }
    }

    private func run() {
        while let (batch, count, descriptor) = nextBatch() {
            var offset = 0
            var failed = false
            batch.withUnsafeBytes { raw in
                while offset < raw.count {
                    let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 {
                        if errno == EINTR || errno == EAGAIN { continue }
                        failed = true  // the descriptor is gone: the lines cannot be written anywhere
                        return
                    }
                    offset += written
                }
            }
            if failed { dropped.add(count, ordering: .relaxed) }
            locked {
                pendingBytes -= batch.count
                writing = false
                if queue.isEmpty && droppedSinceReport == 0 { pthread_cond_broadcast(idle) }
            }
        }
        locked { pthread_cond_broadcast(idle) }
    }

    /// The queued lines as one buffer (plus a report of dropped lines) and the descriptor to write
    /// them to, or nil once stopping. A newly opened file replaces the descriptor here, between batches.
    private func nextBatch() -> ([UInt8], count: Int, descriptor: Int32)? {
        locked {
            while true {
                adoptPendingDescriptor()
                if !queue.isEmpty || droppedSinceReport > 0 || stopping { break }
                pthread_cond_wait(work, mutex)
            }
            if queue.isEmpty && droppedSinceReport == 0 { return nil }
            var lingerEnd = Self.realtime(after: Self.linger)
            while !stopping && flushing == 0 && pendingBytes < Self.batchBytes {
                if pthread_cond_timedwait(work, mutex, &lingerEnd) == ETIMEDOUT { break }
            }
            var batch: [UInt8] = []
            batch.reserveCapacity(pendingBytes + 160)
            for line in queue { batch.append(contentsOf: line) }
            let count = queue.count
            queue.removeAll(keepingCapacity: true)
            if droppedSinceReport > 0 {
                // Lines were dropped after the ones in this batch were queued: report them after.
                let report = Self.dropReport(dropped: droppedSinceReport, total: dropped.load(ordering: .relaxed))
                batch.append(contentsOf: report)
                pendingBytes += report.count
                droppedSinceReport = 0
            }
            writing = true
            adoptPendingDescriptor()  // opened while lingering: this batch already goes there
            return (batch, count, descriptor)
        }
    }

    /// Switches to the file `open(file:)` opened, closing the previous one it owned. Writer thread
    /// only, with `mutex` held.
    private func adoptPendingDescriptor() {
        guard let next = pendingDescriptor else { return }
        if ownsDescriptor { close(descriptor) }
        descriptor = next
        ownsDescriptor = true
        pendingDescriptor = nil
    }

    static func dropReport(dropped: Int, total: Int) -> [UInt8] {
        var json = JSONWriter()
        json.object { json in
            json.field("ts", Timestamp.now())
            json.field("level", "warning")
            json.field("msg", "log lines dropped")
            json.field("logger", "llmgw.log")
            json.field("dropped", dropped)
            json.field("dropped_total", total)
        }
        return json.bytes + [0x0A]
    }

    @discardableResult
    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    private static func realtime(after duration: Duration) -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let (seconds, attoseconds) = duration.components
        var nanoseconds = Int(now.tv_nsec) + Int(attoseconds / 1_000_000_000)
        var total = Int(now.tv_sec) + Int(seconds)
        if nanoseconds >= 1_000_000_000 {
            total += 1
            nanoseconds -= 1_000_000_000
        }
        return timespec(tv_sec: total, tv_nsec: nanoseconds)
    }
}

/// `log.file` could not be opened for appending.
public struct LogFileError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var code: Int32

    public var description: String {
        "cannot open \(path) for appending: \(String(cString: strerror(code)))"
    }
}

/// Wall-clock timestamps in RFC 3339 with milliseconds, UTC (`2026-11-21T16:00:00.123Z`),
/// formatted without Foundation.
public enum Timestamp {
    public static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(spec.tv_nsec / 1_000_000)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }
}

extension Timestamp {
    public static func epochMillis() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int(spec.tv_sec) * 1000 + Int(spec.tv_nsec / 1_000_000)
    }

    public static func epochSeconds() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int(spec.tv_sec)
    }
}

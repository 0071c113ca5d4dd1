import Synchronization

/// Curl-thread state the loop shares with its transfers: the nearest deadline (a lower bound the
/// loop uses to bound its poll timeout and to decide when to scan for expired transfers) and the
/// statistics.
final class CurlLoopContext {
    /// No loop-enforced deadline of a live transfer is earlier than this (it may be stale-early).
    private(set) var earliestDeadline: ContinuousClock.Instant?
    let statistics: CurlStatisticsBox
    private var peakBufferedBytes = 0

    init(statistics: CurlStatisticsBox) {
        self.statistics = statistics
    }

    func note(deadline: ContinuousClock.Instant?) {
        guard let deadline else { return }
        if let earliest = earliestDeadline, earliest <= deadline { return }
        earliestDeadline = deadline
    }

    /// After a full scan: the exact earliest deadline.
    func reset(earliestDeadline: ContinuousClock.Instant?) {
        self.earliestDeadline = earliestDeadline
    }

    func note(bufferedBytes: Int) {
        guard bufferedBytes > peakBufferedBytes else { return }
        peakBufferedBytes = bufferedBytes
        statistics.update { $0.peakBufferedBytes = bufferedBytes }
    }
}

/// The statistics, readable from any thread.
final class CurlStatisticsBox: Sendable {
    private let state = Mutex(CurlTransport.Statistics())

    var current: CurlTransport.Statistics { state.withLock { $0 } }

    func update(_ body: (inout CurlTransport.Statistics) -> Void) {
        state.withLock { body(&$0) }
    }
}

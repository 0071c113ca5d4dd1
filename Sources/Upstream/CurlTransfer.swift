import CCurl
import GatewayCore

/// One transfer as the curl thread sees it: the easy handle, what must outlive it (header list,
/// request body), the response head being parsed, and the first-byte and idle deadlines.
///
/// Owned by `CurlLoop`, whose table holds the only strong reference, and touched only on the curl
/// thread. libcurl's callbacks reach it through an unretained pointer (`CURLOPT_PRIVATE`,
/// `CURLOPT_WRITEDATA`, ...), valid because callbacks only run while the transfer is in the table.
final class CurlTransfer {
    let exchange: CurlExchange
    let easy: UnsafeMutableRawPointer
    let context: CurlLoopContext
    let timeouts: TimeoutConfiguration

    var headerList: UnsafeMutablePointer<curl_slist>?
    var requestBody: UnsafeMutableRawBufferPointer?

    /// A connection was established or reused and the request is about to go out.
    var connected = false
    /// A callback told libcurl to stop because the consumer is gone.
    var aborted = false
    private(set) var pausedForBackPressure = false
    private var headParser = CurlResponseHeadParser()
    private var headDelivered = false
    /// Why the transfer was stopped while its head was read (a head over the parser's caps).
    private var headFailure: UpstreamFailure?
    private(set) var firstByteDeadline: ContinuousClock.Instant?
    private(set) var idleDeadline: ContinuousClock.Instant?

    init(
        easy: UnsafeMutableRawPointer, exchange: CurlExchange, context: CurlLoopContext, timeouts: TimeoutConfiguration
    ) {
        self.easy = easy
        self.exchange = exchange
        self.context = context
        self.timeouts = timeouts
    }

    deinit {
        curl_easy_cleanup(easy)
        curl_slist_free_all(headerList)
        requestBody?.deallocate()
    }

    var unretainedPointer: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> CurlTransfer {
        guard let pointer else { preconditionFailure("libcurl callback without its transfer pointer") }
        return Unmanaged<CurlTransfer>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// New connections libcurl opened for this transfer (0 when one was reused).
    var connectionsCreated: Int {
        var count = 0
        let code = llmgw_easy_getinfo_long(easy, CURLINFO_NUM_CONNECTS, &count)
        return code == CURLE_OK ? count : 0
    }

    // MARK: Deadlines

    func started(at now: ContinuousClock.Instant) {
        firstByteDeadline = now + timeouts.firstByte
        context.note(deadline: firstByteDeadline)
    }

    var nextDeadline: ContinuousClock.Instant? {
        switch (firstByteDeadline, idleDeadline) {
        case (let first?, let idle?): min(first, idle)
        case (let first?, nil): first
        case (nil, let idle?): idle
        case (nil, nil): nil
        }
    }

    /// The loop-enforced timeout that has passed at `now`, if any.
    func expiredTimeout(at now: ContinuousClock.Instant) -> UpstreamFailure? {
        if let deadline = firstByteDeadline, deadline <= now {
            guard connected else {
                return UpstreamFailure(.connectTimeout, "no connection within the first-byte timeout")
            }
            return UpstreamFailure(.firstByteTimeout, "no response within \(timeouts.firstByte)")
        }
        if let deadline = idleDeadline, deadline <= now {
            return UpstreamFailure(.idleTimeout, "no body bytes for \(timeouts.idle)")
        }
        return nil
    }

    private func restartIdleDeadline() {
        idleDeadline = .now + timeouts.idle
        context.note(deadline: idleDeadline)
    }

    // MARK: Callbacks

    func didConnect() {
        connected = true
    }

    func didReceiveHeaderLine(_ line: UnsafeRawBufferPointer) -> Int {
        firstByteDeadline = nil
        guard !headDelivered else { return line.count }  // trailers
        switch headParser.parse(line: line) {
        case .needMore:
            return line.count
        case .complete:
            return deliverHead(status: headParser.status ?? 0) ? line.count : 0
        case .tooLarge:
            headFailure = UpstreamFailure(
                .tooLarge,
                "response head over \(headParser.maximumBytes) bytes or \(headParser.maximumHeaderCount) headers"
            )
            return 0
        }
    }

    func didReceiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        if !headDelivered, !deliverHead(status: responseCode) {
            return 0
        }
        guard !bytes.isEmpty else { return 0 }
        switch exchange.received(bytes) {
        case .accepted(let buffered):
            context.note(bufferedBytes: buffered)
            restartIdleDeadline()
            return bytes.count
        case .pause:
            // libcurl keeps these bytes and delivers them again after the unpause.
            pausedForBackPressure = true
            idleDeadline = nil
            return llmgw_writefunc_pause()
        case .abort:
            aborted = true
            return 0
        }
    }

    /// Resumes a transfer paused for back-pressure. Returns curl's code for `curl_easy_pause`,
    /// which may deliver the held-back bytes at once.
    func unpause() -> CURLcode {
        guard pausedForBackPressure else { return CURLE_OK }
        pausedForBackPressure = false
        restartIdleDeadline()
        return curl_easy_pause(easy, llmgw_pause_continue())
    }

    /// libcurl reported the transfer done with `code`; tells the waiting side.
    func finish(_ code: CURLcode) {
        if let headFailure {
            exchange.finished(.failure(headFailure))
            return
        }
        guard !aborted else { return }
        if code == CURLE_OK {
            if !headDelivered {
                guard responseCode > 0 else {
                    exchange.finished(.failure(UpstreamFailure(.reset, "no response head")))
                    return
                }
                guard deliverHead(status: responseCode) else { return }
            }
            exchange.finished(.success(()))
        } else {
            exchange.finished(.failure(CurlFailure.failure(for: code, connected: connected)))
        }
    }

    private var responseCode: Int {
        var code = 0
        return llmgw_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK ? code : 0
    }

    private func deliverHead(status: Int) -> Bool {
        headDelivered = true
        firstByteDeadline = nil
        restartIdleDeadline()
        guard exchange.headReceived(status: status, headers: headParser.headers) else {
            aborted = true
            return false
        }
        return true
    }
}

import CCurl

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#else
    #error("The curl loop waits in epoll and is woken through an eventfd: Linux only")
#endif

/// Wakes the curl thread from any thread: one write to its eventfd, which the watcher's epoll
/// instance reports readable. Valid while the loop is attached to its inbox.
struct CurlWaker: Sendable {
    let descriptor: Int32

    func wake() {
        var one: UInt64 = 1
        let written = write(descriptor, &one, MemoryLayout<UInt64>.size)
        // EAGAIN: the counter is saturated, so a wake-up is pending anyway.
        precondition(written == MemoryLayout<UInt64>.size || errno == EAGAIN, "eventfd write failed: \(errno)")
    }
}

/// The curl thread's readiness source for `curl_multi_socket_action`: one epoll instance holding
/// the sockets libcurl asks to watch (`CURLMOPT_SOCKETFUNCTION`) and the waker's eventfd, plus the
/// timeout libcurl last asked for (`CURLMOPT_TIMERFUNCTION`). Only the ready sockets are reported,
/// so a turn costs what happened, not how many transfers are open.
///
/// Touched only on the curl thread (libcurl calls both callbacks from inside the multi calls made
/// there). libcurl reaches it through an unretained pointer, valid while the multi handle lives:
/// the loop owns both and cleans the multi handle up first.
final class CurlSocketWatcher {
    let waker: CurlWaker
    private let epoll: Int32
    /// The epoll events each watched socket is registered for.
    private var watched: [curl_socket_t: UInt32] = [:]
    /// When libcurl wants `CURL_SOCKET_TIMEOUT` acted on; nil when it has no timeout pending.
    /// Kept after it passes until libcurl sets another: libcurl only calls the timer function when
    /// its nearest timeout changes, so a timeout acted on a moment early must not be forgotten.
    private var curlTimeout: ContinuousClock.Instant?
    /// libcurl must act at once even though it set no timeout (a transfer was unpaused).
    private var actPending = false
    private let events: UnsafeMutablePointer<epoll_event>
    private static let eventCapacity = 256

    init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: \(errno)")
        let descriptor = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        precondition(descriptor >= 0, "eventfd failed: \(errno)")
        waker = CurlWaker(descriptor: descriptor)
        events = .allocate(capacity: Self.eventCapacity)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = descriptor
        let added = epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event)
        precondition(added == 0, "epoll_ctl(eventfd) failed: \(errno)")
    }

    deinit {
        events.deallocate()
        close(waker.descriptor)
        close(epoll)
    }

    /// Installs the socket and timer functions on `multi`. Returns the options that failed.
    func install(on multi: UnsafeMutableRawPointer) -> [(String, CURLMcode)] {
        let me = Unmanaged.passUnretained(self).toOpaque()
        let results: [(String, CURLMcode)] = [
            ("socketdata", llmgw_multi_setopt_pointer(multi, CURLMOPT_SOCKETDATA, me)),
            (
                "socketfunction",
                llmgw_multi_setopt_socket_callback(multi, CURLMOPT_SOCKETFUNCTION) { _, socket, what, watcher, _ in
                    CurlSocketWatcher.from(watcher).watch(socket, what)
                    return 0
                }
            ),
            ("timerdata", llmgw_multi_setopt_pointer(multi, CURLMOPT_TIMERDATA, me)),
            (
                "timerfunction",
                llmgw_multi_setopt_timer_callback(multi, CURLMOPT_TIMERFUNCTION) { _, milliseconds, watcher in
                    CurlSocketWatcher.from(watcher).setTimeout(milliseconds)
                    return 0
                }
            ),
        ]
        return results.filter { $0.1 != CURLM_OK }
    }

    private static func from(_ pointer: UnsafeMutableRawPointer?) -> CurlSocketWatcher {
        guard let pointer else { preconditionFailure("libcurl callback without its socket watcher") }
        return Unmanaged<CurlSocketWatcher>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Makes the next `wait` return at once and act on `CURL_SOCKET_TIMEOUT`.
    func actSoon() {
        actPending = true
    }

    /// The milliseconds until libcurl's timeout (0 when due, nil when none), rounded up so the
    /// loop does not wake just before it and spin.
    func millisecondsUntilCurlTimeout(from now: ContinuousClock.Instant) -> Int? {
        if actPending { return 0 }
        guard let curlTimeout else { return nil }
        guard curlTimeout > now else { return 0 }
        return CurlTransfer.milliseconds(curlTimeout - now) + 1
    }

    /// Sleeps in `epoll_wait` for at most `milliseconds`, then reports each ready socket with its
    /// `CURL_CSELECT_*` bits, and `CURL_SOCKET_TIMEOUT` (bits 0) when libcurl's timeout is due.
    /// A wake-up through the waker is consumed here; the caller then takes the queued commands.
    func wait(milliseconds: Int, _ act: (curl_socket_t, Int32) -> Void) {
        let count = epoll_wait(epoll, events, Int32(Self.eventCapacity), Int32(clamping: milliseconds))
        if count < 0 {
            precondition(errno == EINTR, "epoll_wait failed: \(errno)")
        }
        for index in 0..<max(0, Int(count)) {
            let event = events[index]
            let descriptor = event.data.fd
            if descriptor == waker.descriptor {
                var counter: UInt64 = 0
                _ = read(descriptor, &counter, MemoryLayout<UInt64>.size)
                continue
            }
            // An earlier action in this batch may have made libcurl stop watching the socket.
            guard let registered = watched[descriptor] else { continue }
            act(descriptor, Self.selectBits(ready: event.events, registered: registered))
        }
        if actPending || curlTimeout.map({ $0 <= .now }) == true {
            actPending = false
            act(llmgw_socket_timeout(), 0)
        }
    }

    /// `CURL_CSELECT_*` for what epoll reported. On an error or hang-up libcurl is also told the
    /// socket is ready for what it waits for, so it attempts the read or write and reports the
    /// failure it meets (a reset, a refused connection), as it would after `poll`.
    private static func selectBits(ready: UInt32, registered: UInt32) -> Int32 {
        var bits: Int32 = 0
        var ready = ready
        if ready & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
            bits |= llmgw_cselect_err()
            ready |= registered
        }
        if ready & EPOLLIN.rawValue != 0 { bits |= llmgw_cselect_in() }
        if ready & EPOLLOUT.rawValue != 0 { bits |= llmgw_cselect_out() }
        return bits
    }

    // MARK: libcurl's callbacks

    private func watch(_ socket: curl_socket_t, _ what: Int32) {
        guard what != llmgw_poll_remove() else {
            if watched.removeValue(forKey: socket) != nil {
                // Fails harmlessly when libcurl already closed the socket (epoll dropped it then).
                _ = epoll_ctl(epoll, EPOLL_CTL_DEL, socket, nil)
            }
            return
        }
        var wanted: UInt32 = 0
        if what == llmgw_poll_in() || what == llmgw_poll_inout() { wanted |= EPOLLIN.rawValue }
        if what == llmgw_poll_out() || what == llmgw_poll_inout() { wanted |= EPOLLOUT.rawValue }
        if watched[socket] == wanted { return }
        var event = epoll_event()
        event.events = wanted
        event.data.fd = socket
        // A descriptor closed and reused behind our back is gone from epoll (ENOENT): add it again;
        // one added while we thought it unwatched is modified (EEXIST).
        if watched[socket] == nil {
            if epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event) != 0, errno == EEXIST {
                _ = epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event)
            }
        } else if epoll_ctl(epoll, EPOLL_CTL_MOD, socket, &event) != 0, errno == ENOENT {
            _ = epoll_ctl(epoll, EPOLL_CTL_ADD, socket, &event)
        }
        watched[socket] = wanted
    }

    private func setTimeout(_ milliseconds: Int) {
        curlTimeout = milliseconds < 0 ? nil : .now + .milliseconds(milliseconds)
    }
}

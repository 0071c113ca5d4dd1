import CCurl
import GatewayCore
import Logging

/// The curl thread: owns the one multi handle (and so its connection cache) and every transfer in
/// it. Each turn it takes queued commands, collects finished transfers, fails those past a
/// first-byte or idle deadline, and sleeps in the socket watcher's `epoll_wait` until a socket is
/// ready, libcurl's timeout or one of ours comes, or the inbox's waker says a command was queued;
/// then it hands libcurl only what happened (`curl_multi_socket_action` per ready socket, and
/// `CURL_SOCKET_TIMEOUT` when its timeout is due), so a turn costs the events, not the number of
/// transfers open.
final class CurlLoop {
    private let multi: UnsafeMutableRawPointer
    private let watcher: CurlSocketWatcher
    private let inbox: CurlLoopInbox
    private let configuration: CurlTransport.Configuration
    private let context: CurlLoopContext
    private let logger: Logger
    private var transfers: [ObjectIdentifier: CurlTransfer] = [:]

    /// The longest `epoll_wait` sleep when nothing is due.
    private static let maximumWaitMilliseconds = 1000

    /// The thread's body. Returns when the loop was told to shut down.
    static func run(
        inbox: CurlLoopInbox,
        configuration: CurlTransport.Configuration,
        statistics: CurlStatisticsBox,
        logger: Logger
    ) {
        defer { inbox.markExited() }
        guard let multi = curl_multi_init() else {
            logger.critical("curl_multi_init failed; upstream requests will fail")
            rejectAll(inbox.close())
            return
        }
        let loop = CurlLoop(
            multi: multi, watcher: CurlSocketWatcher(), inbox: inbox, configuration: configuration,
            context: CurlLoopContext(statistics: statistics), logger: logger)
        loop.configureMulti()
        loop.run()
    }

    private init(
        multi: UnsafeMutableRawPointer,
        watcher: CurlSocketWatcher,
        inbox: CurlLoopInbox,
        configuration: CurlTransport.Configuration,
        context: CurlLoopContext,
        logger: Logger
    ) {
        self.multi = multi
        self.watcher = watcher
        self.inbox = inbox
        self.configuration = configuration
        self.context = context
        self.logger = logger
    }

    private func configureMulti() {
        let options: [(CURLMoption, Int, String)] = [
            (CURLMOPT_MAXCONNECTS, configuration.maximumCachedConnections, "maxconnects"),
            (CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maximumConnectionsPerHost, "max_host_connections"),
            (CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX), "pipelining"),
        ]
        for (option, value, name) in options {
            let code = llmgw_multi_setopt_long(multi, option, value)
            if code != CURLM_OK {
                logger.error(
                    "curl_multi_setopt failed",
                    metadata: ["option": "\(name)", "error": "\(CurlFailure.describe(code))"])
            }
        }
        for (name, code) in watcher.install(on: multi) {
            logger.critical(
                "curl_multi_setopt failed; upstream requests will stall",
                metadata: ["option": "\(name)", "error": "\(CurlFailure.describe(code))"])
        }
    }

    private func run() {
        inbox.attach(watcher.waker)
        logger.debug("curl loop started")
        while handle(inbox.takeCommands()) {
            collectFinished()
            expireDeadlines()
            waitAndAct()
        }
        Self.rejectAll(inbox.close())
        let aborted = transfers.count
        for transfer in Array(transfers.values) {
            remove(transfer, as: .cancelled)
            transfer.exchange.finished(.failure(UpstreamFailure(.cancelled, "the transport is shut down")))
        }
        let code = curl_multi_cleanup(multi)
        if code != CURLM_OK {
            logger.error("curl_multi_cleanup failed", metadata: ["error": "\(CurlFailure.describe(code))"])
        }
        logger.debug("curl loop stopped", metadata: ["aborted_transfers": "\(aborted)"])
    }

    // MARK: Commands

    /// Returns false on shutdown (after rejecting the commands queued behind it).
    private func handle(_ commands: [CurlCommand]) -> Bool {
        for (index, command) in commands.enumerated() {
            switch command {
            case .start(let request, let exchange):
                start(request, exchange)
            case .unpause(let exchange):
                guard let transfer = transfers[ObjectIdentifier(exchange)] else { continue }
                let code = transfer.unpause()
                // libcurl queues the transfer to run again but sets no timeout for it: act now.
                watcher.actSoon()
                if code != CURLE_OK {
                    remove(transfer, as: transfer.aborted ? .cancelled : .failed)
                    transfer.finish(code)
                }
            case .abort(let exchange):
                // Removing an unfinished HTTP/1.1 transfer closes its connection (HTTP/2: resets the stream).
                guard let transfer = transfers[ObjectIdentifier(exchange)] else { continue }
                remove(transfer, as: .cancelled)
            case .shutdown:
                Self.rejectAll(commands[(index + 1)...])
                return false
            }
        }
        return true
    }

    private func start(_ request: UpstreamRequest, _ exchange: CurlExchange) {
        // The consumer may have given up while the command was queued.
        guard !exchange.isCancelled else { return }
        guard let easy = curl_easy_init() else {
            exchange.finished(.failure(UpstreamFailure(.other, "curl_easy_init failed")))
            return
        }
        let transfer = CurlTransfer(easy: easy, exchange: exchange, context: context, timeouts: request.timeouts)
        do {
            try transfer.configure(request, configuration)
        } catch {
            exchange.finished(.failure(error))
            return
        }
        let code = curl_multi_add_handle(multi, easy)
        guard code == CURLM_OK else {
            exchange.finished(.failure(UpstreamFailure(.other, CurlFailure.describe(code))))
            return
        }
        transfers[ObjectIdentifier(exchange)] = transfer
        transfer.started(at: .now)
        context.statistics.update { $0.transfersStarted += 1 }
    }

    private static func rejectAll(_ commands: some Sequence<CurlCommand>) {
        for case .start(_, let exchange) in commands {
            exchange.finished(.failure(UpstreamFailure(.cancelled, "the transport is shut down")))
        }
    }

    // MARK: Transfers

    private enum Outcome {
        case completed, failed, cancelled
    }

    /// Takes the transfer out of the multi handle; its easy handle is cleaned up when the last
    /// reference (the caller's) goes.
    private func remove(_ transfer: CurlTransfer, as outcome: Outcome) {
        transfers[ObjectIdentifier(transfer.exchange)] = nil
        let code = curl_multi_remove_handle(multi, transfer.easy)
        if code != CURLM_OK {
            logger.error("curl_multi_remove_handle failed", metadata: ["error": "\(CurlFailure.describe(code))"])
        }
        let connections = transfer.connectionsCreated
        context.statistics.update { statistics in
            statistics.connectionsCreated += connections
            switch outcome {
            case .completed: statistics.transfersCompleted += 1
            case .failed: statistics.transfersFailed += 1
            case .cancelled: statistics.transfersCancelled += 1
            }
        }
    }

    private func collectFinished() {
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(multi, &remaining) {
            guard message.pointee.msg == CURLMSG_DONE else { continue }
            // The message does not survive the removal: read it first.
            let code = message.pointee.data.result
            var pointer: UnsafeMutableRawPointer?
            let info = llmgw_easy_getinfo_pointer(message.pointee.easy_handle, CURLINFO_PRIVATE, &pointer)
            precondition(info == CURLE_OK, "CURLINFO_PRIVATE failed: \(CurlFailure.describe(info))")
            let transfer = CurlTransfer.from(pointer)
            remove(transfer, as: transfer.aborted ? .cancelled : code == CURLE_OK ? .completed : .failed)
            if code != CURLE_OK, !transfer.aborted {
                logger.debug(
                    "upstream transfer failed",
                    metadata: [
                        "kind": "\(CurlFailure.kind(for: code, connected: transfer.connected).rawValue)",
                        "curl_code": "\(code.rawValue)",
                    ])
            }
            transfer.finish(code)
        }
    }

    private func expireDeadlines() {
        let now = ContinuousClock.now
        guard let earliest = context.earliestDeadline, earliest <= now else { return }
        var next: ContinuousClock.Instant?
        var expired: [(CurlTransfer, UpstreamFailure)] = []
        for transfer in transfers.values {
            if let failure = transfer.expiredTimeout(at: now) {
                expired.append((transfer, failure))
            } else if let deadline = transfer.nextDeadline {
                next = next.map { min($0, deadline) } ?? deadline
            }
        }
        context.reset(earliestDeadline: next)
        for (transfer, failure) in expired {
            logger.debug("upstream transfer timed out", metadata: ["kind": "\(failure.kind.rawValue)"])
            remove(transfer, as: .failed)
            transfer.exchange.finished(.failure(failure))
        }
    }

    /// Sleeps until something is due, then lets libcurl act on it.
    private func waitAndAct() {
        let now = ContinuousClock.now
        var milliseconds = Self.maximumWaitMilliseconds
        if let curl = watcher.millisecondsUntilCurlTimeout(from: now) {
            milliseconds = min(milliseconds, curl)
        }
        if let earliest = context.earliestDeadline {
            // Round up so the loop does not wake just before the deadline and spin.
            let untilDue = CurlTransfer.milliseconds(earliest - now) + 1
            milliseconds = min(milliseconds, max(0, untilDue))
        }
        watcher.wait(milliseconds: milliseconds) { socket, bits in
            var running: Int32 = 0
            let code = curl_multi_socket_action(multi, socket, bits, &running)
            if code != CURLM_OK {
                logger.error(
                    "curl_multi_socket_action failed", metadata: ["error": "\(CurlFailure.describe(code))"])
            }
        }
    }
}

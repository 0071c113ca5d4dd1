import GatewayCore
import Synchronization

/// Work handed to the curl thread. Everything that touches a curl handle runs there.
enum CurlCommand: Sendable {
    /// Start a transfer for this exchange.
    case start(UpstreamRequest, CurlExchange)
    /// The consumer drained the buffer: resume a transfer paused for back-pressure.
    case unpause(CurlExchange)
    /// The consumer gave up: remove the transfer and close its connection.
    case abort(CurlExchange)
    /// Abort every transfer and end the thread.
    case shutdown
}

/// The lock-protected hand-over point between callers and the curl thread: a command queue, the
/// waker to call while the thread runs, and the thread's exit for `shutdown()` to await.
final class CurlLoopInbox: Sendable {
    private struct State {
        var commands: [CurlCommand] = []
        /// Set while the loop runs; nil before it starts and after it closed (its eventfd may be
        /// closed then).
        var waker: CurlWaker?
        var closed = false
        var exited = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Queues a command and wakes the loop. Returns false once the loop has closed (the command
    /// was not queued).
    @discardableResult
    func enqueue(_ command: CurlCommand) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            let wasEmpty = state.commands.isEmpty
            state.commands.append(command)
            // A non-empty queue means a wake-up is already pending: the loop consumes the wake-up
            // before it drains the queue.
            if wasEmpty, let waker = state.waker {
                waker.wake()
            }
            return true
        }
    }

    /// Called by the loop thread once it can be woken.
    func attach(_ waker: CurlWaker) {
        state.withLock { $0.waker = waker }
    }

    /// Called by the loop thread at each turn.
    func takeCommands() -> [CurlCommand] {
        state.withLock { state in
            guard !state.commands.isEmpty else { return [] }
            let commands = state.commands
            state.commands = []
            return commands
        }
    }

    /// Called by the loop thread when it stops: no more commands are accepted and the waker is no
    /// longer called. Returns the commands still queued.
    func close() -> [CurlCommand] {
        state.withLock { state in
            state.closed = true
            state.waker = nil
            let commands = state.commands
            state.commands = []
            return commands
        }
    }

    /// Called by the loop thread as its last act.
    func markExited() {
        let waiters = state.withLock { state in
            state.exited = true
            let waiters = state.exitWaiters
            state.exitWaiters = []
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the loop thread has exited.
    func waitForExit() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = state.withLock { state in
                if state.exited { return true }
                state.exitWaiters.append(continuation)
                return false
            }
            if exited { continuation.resume() }
        }
    }
}

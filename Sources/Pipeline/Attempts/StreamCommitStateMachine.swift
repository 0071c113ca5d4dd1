import GatewayCore

/// The commit point of a streamed answer. Until the first bytes reach the client, the stream is
/// held: a failure is an ordinary failed attempt and the next target is tried, invisibly. The first
/// output commits the answer to this target: from then on a failure cuts it — an in-band error
/// event in the client's dialect and no terminator (`[DONE]`, `message_stop`), so the client can
/// tell the answer is incomplete. A pure value: the relay feeds it what happened and acts on what
/// it returns.
struct StreamCommitStateMachine {
    /// How the relay ends.
    enum Ending: Equatable {
        /// Nothing reached the client: the attempt failed and another target may answer.
        case failOver(reason: String, AttemptFailureClass, timeout: Bool)
        /// Committed: end the client's stream with an in-band error event.
        case cut(reason: String)
        /// Committed and the gateway's drain timeout ran out.
        case shutdownCut
        /// The client went away (`reason` is the attempt's error when nothing was committed).
        case clientClosed(reason: String?)
        /// The provider's answer is complete; `providerError` when its own in-band error ended it.
        case complete(providerError: Bool)
        /// A guardrail refused the answer: before any output the request is answered with the
        /// refusal, once committed the stream is cut with it (the text before the match was sent).
        case refused(GuardrailRefusal)
    }

    private(set) var isCommitted = false

    /// Output is about to be sent: true when this is the commit point (the head goes first).
    mutating func willSend() -> Bool {
        defer { isCommitted = true }
        return !isCommitted
    }

    /// Reading the upstream failed.
    func readFailed(_ failure: UpstreamFailure, cutting: Bool) -> Ending {
        if isCommitted && cutting { return .shutdownCut }
        if failure.kind == .cancelled { return .clientClosed(reason: isCommitted ? nil : failure.description) }
        guard isCommitted else {
            return .failOver(reason: failure.description, FailureClass.of(failure), timeout: failure.isTimeout)
        }
        return .cut(reason: failure.description)
    }

    /// The upstream sent an event too large to frame: stop reading, whatever it costs.
    func oversizedEvent(limit: Int) -> Ending {
        let reason = "stream event over \(limit) bytes"
        return isCommitted ? .cut(reason: reason) : .failOver(reason: reason, .unavailable, timeout: false)
    }

    /// The provider reported an error in band: before any output it fails over invisibly (nil
    /// once committed: the error event is relayed).
    func inBandError() -> Ending? {
        isCommitted ? nil : .failOver(reason: "in-band error before any output", .transient, timeout: false)
    }

    /// The upstream closed the stream, before the translator's closing output is drawn.
    func upstreamClosed(sawDone: Bool, cutting: Bool) -> Ending? {
        isCommitted && cutting && !sawDone ? .shutdownCut : nil
    }

    /// The translator has drawn its closing output: only a preamble arrived before the provider
    /// closed the stream when nothing is committed and no terminator came.
    func drained(sawDone: Bool) -> Ending? {
        !isCommitted && !sawDone
            ? .failOver(reason: "stream ended before any output", .transient, timeout: false) : nil
    }

    /// The closing output is sent: how the answer ends.
    func closed(sawDone: Bool, sawError: Bool) -> Ending {
        guard sawDone || sawError else {
            // The provider closed the stream without its terminator: the answer is incomplete.
            guard isCommitted else {
                return .failOver(reason: "stream ended before any event", .transient, timeout: false)
            }
            return .cut(reason: "provider closed the stream early")
        }
        return .complete(providerError: sawError)
    }
}

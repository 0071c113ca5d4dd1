/// The order in which a stream reply goes out, with its faults: which event next, when to pause, when to
/// stop early. A plain value; `MockHTTPHandler` performs the steps.
struct MockStreamPlan<Event: Equatable> {
    enum Step: Equatable {
        /// Write this event; when `pauseAfter` is set, flush and wait that long before the next step.
        case send(Event, pauseAfter: Duration?)
        /// End the stream early in this way (after the events already sent).
        case stop(MockFaultActions.StreamStop)
        /// Every event is out: end the body.
        case finish
    }

    private let events: [Event]
    private let chunkDelay: Duration?
    private let stop: (kind: MockFaultActions.StreamStop, afterEvents: Int)?
    private(set) var sent = 0
    private var stopped = false

    init(events: [Event], faults: MockFaultActions?) {
        self.events = events
        chunkDelay = faults?.chunkDelay
        // A stop past the last event would never be reached: the stream simply completes.
        stop = faults?.streamStop.flatMap { $0.afterEvents < events.count ? $0 : nil }
    }

    mutating func step() -> Step {
        precondition(!stopped, "a stopped stream has no further steps")
        if let stop, sent == stop.afterEvents {
            stopped = true
            return .stop(stop.kind)
        }
        if sent == events.count {
            stopped = true
            return .finish
        }
        let event = events[sent]
        sent += 1
        return .send(event, pauseAfter: sent < events.count ? chunkDelay : nil)
    }
}

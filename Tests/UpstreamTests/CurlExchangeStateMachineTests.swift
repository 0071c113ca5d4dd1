import GatewayCore
import Testing

@testable import Upstream

@Suite struct CurlExchangeStateMachineTests {
    private func receiving(highWaterMark: Int = 100, lowWaterMark: Int = 40) async -> CurlExchangeStateMachine {
        var machine = CurlExchangeStateMachine(highWaterMark: highWaterMark, lowWaterMark: lowWaterMark)
        let result = await withCheckedContinuation { (continuation: CurlExchangeStateMachine.HeadContinuation) in
            guard case .startTransfer = machine.headWaiterRegistered(continuation) else {
                preconditionFailure("a fresh machine starts the transfer")
            }
            guard case .resume(let head) = machine.headReceived() else {
                preconditionFailure("the head goes to the registered waiter")
            }
            head.resume(returning: .success(()))
        }
        #expect((try? result.get()) != nil)
        return machine
    }

    private func receive(_ count: Int, into machine: inout CurlExchangeStateMachine) -> String {
        let bytes = [UInt8](repeating: 7, count: count)
        switch bytes.withUnsafeBytes({ machine.received($0) }) {
        case .stored(let buffered): return "stored \(buffered)"
        case .handOver: return "handed over"
        case .pause: return "pause"
        case .abort: return "abort"
        }
    }

    @Test func pausesAtTheHighWaterMarkAndResumesAtTheLowWaterMark() async {
        var machine = await receiving()
        #expect(receive(30, into: &machine) == "stored 30")
        #expect(receive(30, into: &machine) == "stored 60")
        #expect(receive(50, into: &machine) == "stored 110")
        // Over the mark: paused, and the same bytes are not stored.
        #expect(receive(30, into: &machine) == "pause")
        #expect(machine.bufferedBytes == 110)

        guard case .deliver(let first, let unpauseFirst) = machine.nextChunk() else {
            Issue.record("expected a chunk")
            return
        }
        #expect(first.count == 30)
        #expect(!unpauseFirst)  // 80 left, above the low-water mark
        guard case .deliver(_, let unpauseSecond) = machine.nextChunk() else {
            Issue.record("expected a chunk")
            return
        }
        #expect(!unpauseSecond)  // 50 left, still above the low-water mark
        guard case .deliver(_, let unpauseThird) = machine.nextChunk() else {
            Issue.record("expected a chunk")
            return
        }
        #expect(unpauseThird)  // 0 left: ask once
        #expect(receive(30, into: &machine) == "stored 30")
    }

    @Test func endAndFailureAfterTheBufferDrains() async {
        var machine = await receiving()
        _ = receive(10, into: &machine)
        #expect(machine.finished(.failure(UpstreamFailure(.reset, "x"))).isNone)
        guard case .deliver = machine.nextChunk() else {
            Issue.record("buffered bytes come before the failure")
            return
        }
        guard case .fail(let failure) = machine.nextChunk() else {
            Issue.record("expected the failure")
            return
        }
        #expect(failure.kind == .reset)
    }

    @Test func cancellingWhileAwaitingTheHeadFailsSendAndAborts() async {
        var machine = CurlExchangeStateMachine(highWaterMark: 100, lowWaterMark: 40)
        let result = await withCheckedContinuation { (continuation: CurlExchangeStateMachine.HeadContinuation) in
            _ = machine.headWaiterRegistered(continuation)
            let action = machine.cancel(.task)
            #expect(action.abortTransfer)
            #expect(action.chunk == nil)
            action.head?.0.resume(returning: .failure(action.head!.1))
        }
        #expect(throws: UpstreamFailure.self) { try result.get() }
        // The curl side learns the consumer is gone.
        guard case .abort = machine.headReceived() else {
            Issue.record("a cancelled exchange aborts on the head")
            return
        }
        #expect(machine.cancel(.consumer).abortTransfer == false)
    }

    @Test func cancelledBeforeStartNeverStartsTheTransfer() async {
        var machine = CurlExchangeStateMachine(highWaterMark: 100, lowWaterMark: 40)
        #expect(machine.cancel(.task).abortTransfer == false)
        let result = await withCheckedContinuation { (continuation: CurlExchangeStateMachine.HeadContinuation) in
            guard case .fail(let continuation, let failure) = machine.headWaiterRegistered(continuation) else {
                preconditionFailure("a cancelled machine must not start the transfer")
            }
            continuation.resume(returning: .failure(failure))
        }
        #expect(throws: UpstreamFailure(.cancelled, "cancelled before the request was sent")) { try result.get() }
    }
}

extension CurlExchangeStateMachine.FinishAction {
    fileprivate var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}

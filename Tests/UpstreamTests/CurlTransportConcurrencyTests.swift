import Foundation
import GatewayCore
import Synchronization
import Testing
import Upstream

@Suite("CurlTransport: many slow streams at once")
struct CurlTransportConcurrencyTests {
    static let first = Array("data: {\"n\":1}\n\n".utf8)
    static let rest = Array("data: [DONE]\n\n".utf8)
    static let streams = 200

    /// 200 streams whose server sends the head and a first event at once and then holds the body
    /// until the test lets go: every stream gets its first event while all 200 are still open (none
    /// waits behind the running ones), and all complete once released. No wall-clock bound beyond
    /// `eventually`'s generous cap.
    @Test func slowStreamsGetTheirFirstBytesWhileTheOthersRun() async throws {
        let gate = TestGate()
        let firstEvents = Counter()
        try await withTransportAndServer(respond: { _ in
            .held(first: Self.first, rest: Self.rest, gate: gate)
        }) { transport, server in
            let completed = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<Self.streams {
                    group.addTask {
                        let response = try await transport.send(get(server.url("/stream/\(index)")))
                        let first = try await response.body.next()
                        firstEvents.increment()
                        var rest: [UInt8] = []
                        while let chunk = try await response.body.next() { rest += chunk }
                        return response.status == 200 && first == Self.first && rest == Self.rest
                    }
                }
                let allFirst = await eventually(within: .seconds(60)) {
                    firstEvents.value == Self.streams
                }
                #expect(allFirst, "\(firstEvents.value) of \(Self.streams) streams got a first event")
                #expect(server.requests.count == Self.streams)
                #expect(server.accepted == Self.streams)
                #expect(transport.statistics.transfersCompleted == 0)
                gate.open()
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(completed == Self.streams)
            #expect(await eventually { transport.statistics.transfersCompleted == Self.streams })
            #expect(transport.statistics.transfersFailed == 0)
        }
    }

    #if os(Linux)
        /// The curl thread is named, so it shows in `top -H` and `perf`.
        @Test func curlThreadIsNamed() async throws {
            try await withTransport { _ in
                let named = await eventually {
                    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
                    return tasks.contains { task in
                        let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
                        return comm?.trimmingCharacters(in: .whitespacesAndNewlines) == "llmgw-curl"
                    }
                }
                #expect(named)
            }
        }
    #endif
}

/// A count shared by the streams' tasks.
private final class Counter: Sendable {
    private let count = Mutex(0)

    var value: Int { count.withLock { $0 } }

    func increment() {
        count.withLock { $0 += 1 }
    }
}

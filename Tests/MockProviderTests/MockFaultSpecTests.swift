import MockProvider
import Testing

/// The fault grammar: what parses, and that errors name the bad part.
@Suite struct MockFaultSpecTests {
    @Test func parsesEveryFault() throws {
        let spec = try MockFaultSpec(
            parsing:
                " status=503x2 ; retry_after=7;delay=200ms;chunk_delay=1.5s;stall=3;cut=4;reset=5;error_event=6;p=0.3;seed=9"
        )
        #expect(spec.status == 503)
        #expect(spec.statusTimes == 2)
        #expect(spec.retryAfterSeconds == 7)
        #expect(spec.delay == .milliseconds(200))
        #expect(spec.chunkDelay == .milliseconds(1500))
        #expect(spec.stallAfter == 3)
        #expect(spec.cutAfter == 4)
        #expect(spec.resetAfter == 5)
        #expect(spec.errorEventAfter == 6)
        #expect(spec.probability == 0.3)
        #expect(spec.seed == 9)
    }

    @Test func bareResetMeansOnReceiptAndEmptyMeansNone() throws {
        #expect(try MockFaultSpec(parsing: "reset").resetAfter == 0)
        #expect(try MockFaultSpec(parsing: "").isEmpty)
        #expect(try MockFaultSpec(parsing: " ; ").isEmpty)
        #expect(try MockFaultSpec(parsing: "status=429").statusTimes == nil)
        #expect(try MockFaultSpec(parsing: "delay=2s").delay == .seconds(2))
        #expect(try MockFaultSpec(parsing: "delay=500us").delay == .microseconds(500))
    }

    @Test(arguments: [
        ("status=abc", "status=abc"),
        ("delay=200ms;bogus=1", "bogus=1"),
        ("delay=200", "delay=200"),
        ("status=503x0", "status=503x0"),
        ("p=1.5", "p=1.5"),
        ("cut", "cut"),
        ("stall=-1", "stall=-1"),
    ])
    func invalidSpecsNameTheBadPart(spec: String, part: String) {
        #expect {
            _ = try MockFaultSpec(parsing: spec)
        } throws: { error in
            guard let error = error as? MockFaultSpecError else { return false }
            return error.part == part && error.description.contains(part)
        }
    }
}

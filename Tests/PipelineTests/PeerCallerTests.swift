import GatewayCore
import GatewayTesting
import Testing

@testable import Pipeline

/// `callers:`: a Unix-socket peer mapped by uid or group to a declared caller, with that caller's
/// limits, budget and models, under `auth.mode: peer`, `keys_or_peer` and `none`.
@Suite struct PeerCallerTests {
    static let billing = CallerConfiguration(
        name: "billing", uid: 1001, limits: LimitSettings(requestsPerMinute: 2), allowedModels: ["smart"])
    static let batch = CallerConfiguration(name: "batch", gid: 3000, limits: LimitSettings(tokensPerMinute: 1_000_000))

    private func harness(_ mode: AuthConfiguration.Mode) -> PipelineHarness {
        var configuration = ChatScript.configuration
        configuration.models.append(
            ModelConfiguration(name: "other", targets: [.init(provider: "primary", model: "gpt-4o")]))
        configuration.auth.mode = mode
        configuration.callers = [Self.billing, Self.batch]
        let gateway = PipelineHarness(configuration, stores: [.keysAndAdmission])
        gateway.transport.enqueue(Array(repeating: ChatScript.ok, count: 8), for: "http://primary")
        return gateway
    }

    private func peer(uid: UInt32, gid: UInt32 = 100, groups: [UInt32] = []) -> PeerCredentials {
        PeerCredentials(pid: 42, uid: uid, gid: gid, groups: groups)
    }

    @Test func aDeclaredCallerGetsItsNameLimitsAndModels() async throws {
        let gateway = harness(.peer)
        let first = await gateway.send(.chatRequest(model: "smart", text: "a"), peer: peer(uid: 1001))
        #expect(first.status == 200)
        #expect(first.record.caller == "peer:billing")
        #expect(first.header("x-ratelimit-limit-requests") == "2")
        #expect(await gateway.send(.chatRequest(model: "smart", text: "b"), peer: peer(uid: 1001)).status == 200)
        let third = await gateway.send(.chatRequest(model: "smart", text: "c"), peer: peer(uid: 1001))
        #expect(third.status == 429)
        #expect(third.body.contains("caller:billing"))
        let forbidden = await gateway.send(.chatRequest(model: "other", text: "d"), peer: peer(uid: 1001))
        #expect(forbidden.status == 403)
        #expect(forbidden.body.contains("This caller is not allowed to use the model `other`"))
        // The limit is the caller's, not the uid's alone: another process of another caller is served.
        #expect(
            await gateway.send(.chatRequest(model: "other", text: "e"), peer: peer(uid: 7, gid: 3000)).status == 200)
        let usage = try gateway.admission.usage(fromDay: nil)
        #expect(usage.contains { $0.caller == "peer:billing" && $0.requests == 2 })
    }

    @Test func aSupplementaryGroupMatches() async throws {
        let gateway = harness(.peer)
        let reply = await gateway.send(
            .chatRequest(model: "other", text: "a"), peer: peer(uid: 5, gid: 100, groups: [27, 3000]))
        #expect(reply.status == 200)
        #expect(reply.record.caller == "peer:batch")
    }

    @Test func underPeerModeAnUndeclaredProcessIs403() async throws {
        let gateway = harness(.peer)
        let reply = await gateway.send(.chatRequest(model: "smart", text: "a"), peer: peer(uid: 5))
        #expect(reply.status == 403)
        #expect(reply.body.contains("not a declared caller"))
        #expect(gateway.transport.requests.isEmpty)
    }

    @Test func keysOrPeerChecksAPresentedKeyAndNeverFallsBack() async throws {
        let gateway = harness(.keysOrPeer)
        let key = try gateway.makeKey(name: "ci")
        // A declared caller needs no key; an SDK's placeholder key does not count as one.
        let bare = await gateway.send(.chatRequest(model: "smart", text: "a"), peer: peer(uid: 1001))
        #expect(bare.record.caller == "peer:billing")
        let placeholder = await gateway.send(
            .chatRequest(model: "smart", text: "b"), key: "unused", peer: peer(uid: 1001))
        #expect(placeholder.status == 200)
        #expect(placeholder.record.caller == "peer:billing")
        // A virtual key wins over the peer, and a wrong one is refused even for a declared caller.
        let keyed = await gateway.send(.chatRequest(model: "other", text: "c"), key: key.text, peer: peer(uid: 1001))
        #expect(keyed.status == 200)
        #expect(keyed.record.caller == "key:\(key.publicID)")
        let wrong = await gateway.send(
            .chatRequest(model: "smart", text: "d"), key: key.text + "x", peer: peer(uid: 1001))
        #expect(wrong.status == 401)
        // No key and no declared caller: 401, and the TCP listener has no peer at all.
        #expect(await gateway.send(.chatRequest(model: "smart", text: "e"), peer: peer(uid: 5)).status == 401)
        #expect(await gateway.send(.chatRequest(model: "smart", text: "f")).status == 401)
    }

    @Test func noneModeStillNamesAndLimitsADeclaredCaller() async throws {
        let gateway = harness(.none)
        #expect(
            await gateway.send(.chatRequest(model: "smart", text: "a"), peer: peer(uid: 1001)).record.caller
                == "peer:billing")
        let other = await gateway.send(.chatRequest(model: "other", text: "b"), peer: peer(uid: 5))
        #expect(other.status == 200)
        #expect(other.record.caller == "peer:uid=5")
        #expect(await gateway.send(.chatRequest(model: "other", text: "c"), peer: peer(uid: 1001)).status == 403)
    }

    @Test func theCallerScopeIsCountedInTheMetrics() async throws {
        let gateway = harness(.peer)
        for text in ["a", "b", "c"] {
            _ = await gateway.send(.chatRequest(model: "smart", text: text), peer: peer(uid: 1001))
        }
        let writer = RecordingWriter()
        await gateway.pipeline.handle(
            GatewayRequest(method: "GET", path: "/metrics", headers: [], body: []), writer: writer)
        let metrics = MetricsScrape(writer.body)
        #expect(metrics.value("llmgw_rate_limited_total", ["scope": "caller"]) == 1)
        #expect(metrics.value("llmgw_rate_limited_total", ["scope": "key"]) == 0)
        #expect(!writer.body.contains("billing"))  // a caller is no label value
    }
}

import GatewayCore
import GatewayTesting
import Testing

@testable import Pipeline

@Suite struct KeysAndAdmissionTests {
    let gateway: PipelineHarness

    init() {
        var configuration = ChatScript.configuration
        configuration.auth.mode = .keys
        gateway = PipelineHarness(configuration, stores: .keysAndAdmission)
        gateway.transport.always(.response(body: ChatScript.okBody), for: "http://primary")
    }

    private func makeKey(limits: LimitSettings = .init(), models: [String]? = nil, team: String? = nil) throws
        -> VirtualKeyToken
    {
        try gateway.makeKey(limits: limits, models: models, team: team)
    }

    private func send(
        _ key: String?,
        header: String = "authorization",
        model: String = "smart"
    ) async -> (RecordingWriter, AccessRecord) {
        let reply = await gateway.send(
            .chatRequest(model: model, text: "hi", maxTokens: 100), key: key, keyHeader: header)
        return (reply.writer, reply.record)
    }

    @Test func aValidKeyIsAcceptedByEitherHeaderAndLoggedByItsID() async throws {
        let token = try makeKey()
        let (writer, record) = await send(token.text)
        #expect(writer.status == 200)
        #expect(record.caller == "key:\(token.publicID)")
        let (viaXAPIKey, _) = await send(token.text, header: "x-api-key")
        #expect(viaXAPIKey.status == 200)
    }

    @Test func missingUnknownWrongRevokedAndExpiredKeysAre401() async throws {
        let token = try makeKey()
        #expect(await send(nil).0.status == 401)
        #expect(await send("sk-not-ours").0.status == 401)
        #expect(await send(VirtualKeyToken.generate().text).0.status == 401)
        let forged = VirtualKeyToken(publicID: token.publicID, secret: VirtualKeyToken.generate().secret)
        #expect(await send(forged.text).0.status == 401)
        _ = try gateway.keys.revoke(publicID: token.publicID, atMillis: 1)
        let (revoked, _) = await send(token.text)
        #expect(revoked.status == 401)
        #expect(revoked.body.contains("revoked"))
        #expect(!revoked.body.contains(token.secret))
        let expired = try makeKey()
        var record = try #require(try gateway.keys.key(publicID: expired.publicID))
        record.expiresAtMillis = 1
        try gateway.keys.insert(record)
        #expect(await send(expired.text).0.body.contains("expired"))
    }

    @Test func aModelOutsideTheKeysListIs403() async throws {
        let token = try makeKey(models: ["other"])
        let (writer, record) = await send(token.text)
        #expect(writer.status == 403)
        #expect(record.outcome == .forbidden)
    }

    @Test func requestsPerMinuteAreEnforcedWithRetryAfterAndRateLimitHeaders() async throws {
        let token = try makeKey(limits: LimitSettings(requestsPerMinute: 2))
        #expect(await send(token.text).0.status == 200)
        let (second, _) = await send(token.text)
        #expect(second.header("x-ratelimit-limit-requests") == "2")
        #expect(second.header("x-ratelimit-remaining-requests") == "0")
        let (third, record) = await send(token.text)
        #expect(third.status == 429)
        #expect(Int(third.header("retry-after") ?? "") ?? 0 >= 1)
        #expect(record.outcome == .rateLimited)
    }

    @Test func teamLimitsAreSharedByTheTeamsKeys() async throws {
        try gateway.keys.setTeam(TeamRecord(name: "ml", limits: LimitSettings(requestsPerMinute: 1)))
        let first = try makeKey(team: "ml")
        let second = try makeKey(team: "ml")
        #expect(await send(first.text).0.status == 200)
        #expect(await send(second.text).0.status == 429)
    }

    @Test func tokensAreReservedAndReconciledToRealUsage() async throws {
        // Each request reserves its prompt estimate + max_tokens 100; real usage is 12 tokens.
        let token = try makeKey(limits: LimitSettings(tokensPerMinute: 250))
        for _ in 0..<5 { #expect(await send(token.text).0.status == 200) }
        let usage = try gateway.admission.usage(fromDay: nil)
        #expect(usage.first?.requests == 5)
        #expect(usage.first?.promptTokens == 25)
    }

    @Test func aFailedRequestGivesItsReservationBack() async throws {
        let token = try makeKey(limits: LimitSettings(tokensPerMinute: 150))
        // One request finds both targets refusing connections.
        gateway.transport.clear("http://primary")
        gateway.transport.enqueue([.failure(.connect, "refused")], for: "http://primary")
        gateway.transport.enqueue([.failure(.connect, "refused")], for: "http://backup")
        #expect(await send(token.text).0.status == 502)
        gateway.transport.always(.response(body: ChatScript.okBody), for: "http://primary")
        // Without the refund the reservation (~120 tokens) would leave no room for this one.
        #expect(await send(token.text).0.status == 200)
    }

    @Test func anExhaustedBudgetIs429BudgetExceeded() async throws {
        let token = try makeKey(limits: LimitSettings(budget: Budget(usd: 0.00001, period: .day)))
        #expect(await send(token.text).0.status == 200)  // real cost $0.0000825
        let (writer, record) = await send(token.text)
        #expect(writer.status == 429)
        #expect(writer.body.contains("budget_exceeded"))
        #expect(record.outcome == .budgetExceeded)
    }
}

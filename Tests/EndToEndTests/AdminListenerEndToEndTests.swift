import Foundation
import GatewayTesting
import Testing

/// `admin:`: `/metrics`, `/healthz` and `/readyz` on a listener of their own (a Unix socket and a
/// TCP port), and no longer on the data socket the apps use.
@Suite(.timeLimit(.minutes(2))) struct AdminListenerEndToEndTests {
    @Test func metricsMoveToTheAdminListenersEvenUnderKeys() async throws {
        let adminSocket = "/tmp/llmgw-admin-\(UUID().uuidString.prefix(8)).sock"
        let port = try freeLoopbackPort()
        var options = GatewayHarness.Options()
        options.sections = """
            admin:
              socket: \(adminSocket)
              socket_mode: "0600"
              tcp: 127.0.0.1:\(port)
            """
        try await withGateway(options) { gateway in
            #expect(
                try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "smart")).status == 200)
            #expect(try await gateway.client.get("/metrics").status == 404)
            #expect(try await gateway.client.get("/healthz").status == 200)

            let overSocket = HTTPClient(socketPath: adminSocket)
            let overTCP = HTTPClient(.loopback(port: port))
            for admin in [overSocket, overTCP] {
                let scrape = try await admin.get("/metrics")
                #expect(scrape.status == 200)
                let metrics = MetricsScrape(scrape.text)
                #expect(metrics.total("llmgw_requests_total") == 1)  // the scrapes are no requests
                #expect(try await admin.get("/healthz").status == 200)
                #expect(try await admin.get("/readyz").status == 200)
                // Nothing else: not the API, not a model list.
                #expect(try await admin.post("/v1/chat/completions", json: .chatRequest(model: "smart")).status == 404)
                #expect(try await admin.get("/v1/models").status == 404)
            }
            var status = stat()
            #expect(stat(adminSocket, &status) == 0)
            #expect(status.st_mode & 0o777 == 0o600)
            #expect(gateway.mock.stats.requests == 1)
            let listening = gateway.logLines().first { $0["msg"] as? String == "admin listening" }
            #expect((listening?["endpoints"] as? [String]) == ["unix:\(adminSocket)", "tcp:127.0.0.1:\(port)"])
        }
        #expect(!FileManager.default.fileExists(atPath: adminSocket), "the admin socket is removed at exit")
    }

    @Test func underKeysTheAdminListenerServesTheFiguresWithoutAKey() async throws {
        let port = try freeLoopbackPort()
        var options = GatewayHarness.Options()
        options.auth = ["mode: keys"]
        options.sections = "admin: { tcp: 127.0.0.1:\(port) }"
        try await withGateway(options) { gateway in
            let admin = try await HTTPClient(.loopback(port: port)).get("/metrics")
            let data = try await gateway.client.get("/metrics")
            #expect(admin.status == 200)
            #expect(data.status == 404)
        }
    }
}

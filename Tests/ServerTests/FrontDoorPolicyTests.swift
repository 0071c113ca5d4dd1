import GatewayCore
import NIOHTTP1
import Testing

@testable import Server

@Suite struct FrontDoorPolicyTests {
    private func policy(origins: [String] = [], tcp: HostAndPort? = HostAndPort(host: "127.0.0.1", port: 4000))
        -> FrontDoorPolicy
    {
        var configuration = ListenConfiguration(tcp: tcp)
        configuration.allowedOrigins = origins
        return FrontDoorPolicy(configuration: configuration)
    }

    private func head(
        _ headers: [(String, String)], method: HTTPMethod = .POST, uri: String = "/v1/chat/completions"
    ) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    private let json = ("content-type", "application/json")

    @Test func jsonPostsWithALoopbackHostPass() {
        for host in ["localhost", "localhost:4000", "127.0.0.1:4000", "127.1.2.3", "[::1]:4000", "app.localhost"] {
            #expect(policy().refusal(for: head([json, ("host", host)]), overTCP: true) == nil, "\(host)")
        }
        #expect(policy().refusal(for: head([json]), overTCP: true) == nil, "HTTP/1.0 clients may omit Host")
    }

    @Test func aForeignHostIsRefusedOverTCP() {
        for host in ["evil.example", "127.0.0.1.evil.example", "attacker.com:4000", "1.2.3.4", "[::2]", "127.0.0.256"] {
            let refusal = policy().refusal(for: head([json, ("host", host)]), overTCP: true)
            #expect(refusal?.status == 403, "\(host)")
        }
        #expect(policy().refusal(for: head([json, ("host", "evil.example")]), overTCP: false) == nil)
    }

    @Test func anOriginIsRefusedUnlessAllowed() {
        let request = head([json, ("host", "localhost"), ("origin", "http://evil.example")])
        #expect(policy().refusal(for: request, overTCP: true)?.status == 403)
        #expect(policy().refusal(for: request, overTCP: false) == nil, "browsers cannot reach the Unix socket")
        #expect(policy(origins: ["http://EVIL.example"]).refusal(for: request, overTCP: true) == nil)
        let null = head([json, ("host", "localhost"), ("origin", "null")])
        #expect(policy().refusal(for: null, overTCP: true)?.status == 403)
    }

    @Test func postsMustBeJSONOnEveryListener() {
        for contentType in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""] {
            let request = head([("content-type", contentType), ("host", "localhost")])
            #expect(policy().refusal(for: request, overTCP: false)?.status == 415, "\(contentType)")
            #expect(policy().refusal(for: request, overTCP: true)?.status == 415, "\(contentType)")
        }
        #expect(policy().refusal(for: head([]), overTCP: false)?.status == 415, "no content type at all")
        let charset = head([("content-type", "Application/JSON; charset=utf-8")])
        #expect(policy().refusal(for: charset, overTCP: false) == nil)
        #expect(policy().refusal(for: head([], method: .GET, uri: "/v1/models"), overTCP: false) == nil)
    }
}

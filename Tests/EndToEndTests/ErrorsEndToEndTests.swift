import Foundation
import GatewayTesting
import Testing

/// Every error the walking skeleton promises, in OpenAI's shape with the right status.
@Suite(.timeLimit(.minutes(2))) struct ErrorsEndToEndTests {
    private func expectOpenAIError(
        _ response: HTTPResponse, status: Int, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [String: Any] {
        #expect(response.status == status, sourceLocation: sourceLocation)
        let json = try response.json()
        let error = try #require(json["error"] as? [String: Any], sourceLocation: sourceLocation)
        for key in ["message", "type", "param", "code"] {
            #expect(error.keys.contains(key), "error lacks \(key)", sourceLocation: sourceLocation)
        }
        #expect(!response.text.contains(GatewayBinary.providerKey), sourceLocation: sourceLocation)
        return error
    }

    @Test func unknownModelIs404() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "nope"))
            let error = try expectOpenAIError(response, status: 404)
            #expect(error["code"] as? String == "model_not_found")
        }
    }

    @Test func malformedJSONIs400() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post("/v1/chat/completions", json: #"{"model":"smart","messages":"#)
            _ = try expectOpenAIError(response, status: 400)
            let missing = try await gateway.client.post("/v1/chat/completions", json: #"{"model":"smart"}"#)
            let error = try expectOpenAIError(missing, status: 400)
            #expect(error["param"] as? String == "messages")
        }
    }

    @Test func oversizedBodyIs413() async throws {
        try await withGateway { gateway in
            let filler = String(repeating: "x", count: 2 * 1024 * 1024)
            let response = try await gateway.client.post(
                "/v1/chat/completions", json: .chatRequest(model: "smart", text: filler))
            _ = try expectOpenAIError(response, status: 413)
        }
    }

    @Test func unknownPathIs404() async throws {
        try await withGateway { gateway in
            _ = try expectOpenAIError(try await gateway.client.get("/v2/nothing"), status: 404)
        }
    }

    @Test func upstream500BecomesA502NamingTheTarget() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "broken"))
            let error = try expectOpenAIError(response, status: 502)
            #expect((error["message"] as? String)?.contains("mock/gpt-4o") == true)
            #expect((error["message"] as? String)?.contains("500") == true)
        }
    }

    @Test func connectionRefusedIs502NamingTheTarget() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post(
                "/v1/chat/completions",
                json: .chatRequest(model: "unreachable"),
                headers: [("x-request-id", "e2e-refused")]
            )
            let error = try expectOpenAIError(response, status: 502)
            #expect((error["message"] as? String)?.contains("down/gpt-4o") == true)
            let line = try #require(await gateway.accessLines(requestID: "e2e-refused").first)
            #expect(line["outcome"] as? String == "upstream_error")
            #expect((line["attempts"] as? [[String: Any]])?.count == 1)
        }
    }

    @Test func aFailedTargetFailsOverToTheNext() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "failover"))
            #expect(response.status == 200)
            #expect(response.header("x-llmgw-attempts") == "2")
            #expect(response.header("x-llmgw-provider") == "mock")
        }
    }

    @Test func firstByteTimeoutIs504() async throws {
        try await withGateway { gateway in
            let started = ContinuousClock.now
            let response = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "hang"))
            _ = try expectOpenAIError(response, status: 504)
            #expect(ContinuousClock.now - started < .seconds(10))
        }
    }

    @Test func providerClientErrorsAreRelayedWithTheirStatusAndBody() async throws {
        try await withGateway { gateway in
            let response = try await gateway.client.post("/v1/chat/completions", json: .chatRequest(model: "missing"))
            let error = try expectOpenAIError(response, status: 404)
            #expect(error["type"] as? String == "invalid_request_error")
        }
    }
}

import Foundation
import GatewayTesting
import Testing

/// `GET /v1/models/{id}`, the model list of a key with allowed models, and `llmgw keys revoke` by
/// id or by a unique name.
@Suite(.timeLimit(.minutes(2))) struct ModelsAndKeysEndToEndTests {
    private func createKey(_ gateway: GatewayHarness, _ arguments: [String]) async throws -> String {
        let created = try await runLLMGW(["keys", "create", "--config", gateway.configPath] + arguments)
        #expect(created.status == 0, "\(created.stderr)")
        return created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func get(_ gateway: GatewayHarness, _ path: String, key: String) async throws -> HTTPResponse {
        try await gateway.client.send("GET", path, headers: [("authorization", "Bearer \(key)")], body: [])
    }

    @Test func aKeySeesAndRetrievesOnlyItsModels() async throws {
        var options = GatewayHarness.Options()
        options.auth = ["mode: keys"]
        try await withGateway(options) { gateway in
            let key = try await createKey(gateway, ["--name", "ci", "--models", "smart,claude"])
            let list = try await get(gateway, "/v1/models", key: key).json()
            let ids = (list["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == ["smart", "claude"])

            let smart = try await get(gateway, "/v1/models/smart", key: key)
            #expect(smart.status == 200)
            let object = try smart.json()
            #expect(object["id"] as? String == "smart")
            #expect(object["object"] as? String == "model")
            #expect(object["owned_by"] as? String == "llmgw")
            for hidden in ["gemini", "nope", "sm%61rt%2Fx"] {
                let missing = try await get(gateway, "/v1/models/\(hidden)", key: key)
                #expect(missing.status == 404, "\(hidden)")
                let error = try missing.json()["error"] as? [String: Any]
                #expect(error?["code"] as? String == "model_not_found")
            }
            #expect(try await get(gateway, "/v1/models/sm%61rt", key: key).status == 200)  // escapes decoded
            let post = try await gateway.client.send(
                "POST", "/v1/models/smart",
                headers: [("authorization", "Bearer \(key)"), ("content-type", "application/json")],
                body: Array("{}".utf8))
            #expect(post.status == 405)
            #expect(try await gateway.client.get("/v1/models/smart").status == 401)  // no key
        }
    }

    @Test func keysAreRevokedByIdOrUniqueName() async throws {
        var options = GatewayHarness.Options()
        options.auth = ["mode: keys"]
        try await withGateway(options) { gateway in
            let ci = try await createKey(gateway, ["--name", "ci"])
            let first = try await createKey(gateway, ["--name", "dup"])
            let second = try await createKey(gateway, ["--name", "dup"])
            #expect(try await get(gateway, "/v1/models", key: ci).status == 200)

            let byName = try await runLLMGW(["keys", "revoke", "ci", "--config", gateway.configPath])
            #expect(byName.status == 0, "\(byName.stderr)")
            #expect(byName.stdout.hasPrefix("revoked key:"))
            #expect(try await get(gateway, "/v1/models", key: ci).status == 401)

            let ambiguous = try await runLLMGW(["keys", "revoke", "dup", "--config", gateway.configPath])
            #expect(ambiguous.status != 0)
            #expect(ambiguous.stderr.contains("2 keys are named dup"), "\(ambiguous.stderr)")
            #expect(try await get(gateway, "/v1/models", key: first).status == 200)

            let id = String(second.dropFirst("sk-llmgw-".count).prefix(12))
            let byID = try await runLLMGW(["keys", "revoke", id, "--config", gateway.configPath])
            #expect(byID.stdout == "revoked key:\(id)\n")
            #expect(try await get(gateway, "/v1/models", key: second).status == 401)
            // One `dup` is left: its name is unique now.
            #expect(try await runLLMGW(["keys", "revoke", "dup", "--config", gateway.configPath]).status == 0)
            #expect(
                try await runLLMGW(["keys", "revoke", "nobody", "--config", gateway.configPath]).stderr.contains(
                    "no key with id or name nobody"))
        }
    }
}

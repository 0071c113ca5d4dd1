import Dialects
import GatewayCore

/// Embeds a prompt for the semantic cache by asking llmgw's own `cache.semantic.embedding_model`:
/// an internal `POST /v1/embeddings` through the same routing, providers, keys, quotas and
/// failover as any request, with an access-log line of its own (`"internal":"semantic_cache"`,
/// the client's caller, request id `<client's id>-embed`) and the request metrics. It is not
/// admitted against the caller's rate limits (the chat request was); its usage and cost go to
/// `internal:semantic_cache`, or with `chargeCaller` to the caller and its team (budgets included).
/// Provider quotas of the embedding targets apply.
///
/// `embed` waits at most `budget`: past it, or on any failure, it returns nil and the request
/// goes on as a miss. The internal request is then cancelled (its upstream transfer aborted) and
/// logged as `client_closed`.
struct SemanticEmbedder: Sendable {
    let model: String
    let budget: Duration
    let routing: RoutingStage
    let attempts: AttemptStage
    let settlement: SettlementStage
    let accessLog: AccessLogStage
    let random: any RandomSource
    /// `cache.semantic.charge_caller`.
    var chargeCaller = false

    /// Who the embedding traffic is charged to in the usage records.
    static let chargedCaller = "internal:semantic_cache"

    func embed(_ text: String, caller: String, team: String?, parentRequestID: String) async -> [Float]? {
        var json = JSONWriter()
        json.object { json in
            json.field("model", model)
            json.field("input", text)
        }
        // Usage and spend go to `internal:semantic_cache` (`llmgw usage`) unless the caller is
        // charged; the log line names the caller whose prompt was embedded either way.
        let call = InternalRequest.Call(
            model: model, path: "/v1/embeddings", endpoint: .embeddings, body: json.bytes, purpose: "semantic_cache",
            caller: caller, team: team, requestID: parentRequestID + "-embed",
            chargedCaller: chargeCaller ? nil : Self.chargedCaller)
        let request = InternalRequest(
            routing: routing, attempts: attempts, settlement: settlement, accessLog: accessLog, random: random)
        return await InternalRequest.within(budget) {
            await request.run(call).flatMap(Self.firstEmbedding)
        }
    }

    /// `data[0].embedding` of an OpenAI embeddings answer, as floats.
    static func firstEmbedding(_ body: [UInt8]) -> [Float]? {
        guard let values = (try? JSONScanner.parse(body))?["data"]?[0]?["embedding"]?.array, !values.isEmpty
        else { return nil }
        var vector: [Float] = []
        vector.reserveCapacity(values.count)
        for value in values {
            guard let number = value.double.map(Float.init), number.isFinite else { return nil }
            vector.append(number)
        }
        return vector
    }
}

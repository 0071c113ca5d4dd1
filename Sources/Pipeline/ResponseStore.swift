import Crypto
import Dialects
import GatewayCore

/// Responses answers kept in the shared state for `previous_response_id` and
/// `GET`/`DELETE /v1/responses/{id}`, namespaced by caller (one caller never reads or continues
/// another's), for `responses.ttl`, under `responses.max_bytes` (oldest first out). Every sidecar
/// of the host maps the same store, so a follow-up may reach any of them.
///
/// An entry holds the answer (the `Response` object as the client got it) and the items of the
/// whole conversation up to it — the chain's earlier items, this request's `input`, the answer's
/// `output` — so a follow-up needs one read, and an evicted ancestor never breaks a chain.
/// `instructions` are not carried over (as at OpenAI). Entries live in the volatile environment:
/// under `state.durability: relaxed` a machine restart clears them with the cache.
struct ResponseStore: Sendable {
    let backend: any ResponseCacheBackend
    let ttl: Duration
    let clock: any WallClock

    struct Entry: Sendable {
        /// The conversation up to and including the answer, as Responses input items.
        var items: [JSONValue]
        /// The `Response` object.
        var response: [UInt8]
    }

    static let formatVersion = "llmgw-responses/1"

    /// SHA-256 over the format, the caller and the id, each length-prefixed.
    static func key(caller: String, id: String) -> CacheKey {
        var hasher = SHA256()
        for part in [formatVersion, caller, id] {
            let bytes = Array(part.utf8)
            withUnsafeBytes(of: UInt64(bytes.count).bigEndian) { hasher.update(bufferPointer: $0) }
            hasher.update(data: bytes)
        }
        return CacheKey(digest: Array(hasher.finalize()))
    }

    /// The caller's entry for `id`; nil when there is none (never stored, expired, evicted,
    /// deleted, or another caller's).
    func load(_ id: String, caller: String) async throws(GatewayError) -> Entry? {
        let found: CachedResponse?
        do {
            found = try await backend.lookup(Self.key(caller: caller, id: id), nowMillis: clock.nowMillis())
        } catch {
            throw GatewayError(
                .unavailable, "Stored responses cannot be read right now; please try again.", retryAfterSeconds: 1)
        }
        guard let body = found?.body, let scan = try? JSONScanner.scanObject(body),
            let items = scan.member("items"), let response = scan.member("response"),
            case .array(let values)? = try? JSONScanner.parse(body, in: items.valueRange)
        else { return nil }
        return Entry(items: values, response: Array(body[response.valueRange]))
    }

    /// Keeps `entry` for the caller under `id`. A failure is counted (`llmgw_store_errors_total`)
    /// and otherwise ignored: the answer has been sent already.
    func save(_ entry: Entry, id: String, caller: String, provider: String) async {
        var json = JSONWriter(capacity: entry.response.count * 2 + 256)
        json.object { json in
            json.key("items")
            json.array { json in
                for item in entry.items { json.value(item) }
            }
            json.key("response")
            json.raw(entry.response)
        }
        let now = clock.nowMillis()
        let stored = CachedResponse(
            contentType: "application/json", body: json.bytes, streamed: false, usage: nil, provider: provider,
            upstreamModel: "", storedAtMillis: now, expiresAtMillis: now.addingSaturating(ttl.saturatingMillis))
        try? await backend.store(Self.key(caller: caller, id: id), stored)
    }

    /// Keeps the answer to `turn` (a `Response` object) under the id it names, with the
    /// conversation up to it.
    func keep(_ turn: ResponsesTurn, answeredBy response: [UInt8], caller: String, provider: String) async {
        guard let scan = try? JSONScanner.scanObject(response), let idMember = scan.member("id"),
            let id = JSONScanner.string(response, at: idMember.valueRange), !id.isEmpty
        else { return }
        await save(
            Entry(items: turn.conversation(answeredBy: response), response: response), id: id, caller: caller,
            provider: provider)
    }

    /// Deletes the caller's entry for `id`; false when there was none.
    func delete(_ id: String, caller: String) async throws(GatewayError) -> Bool {
        do {
            return try await backend.remove(Self.key(caller: caller, id: id))
        } catch {
            throw GatewayError(
                .unavailable, "Stored responses cannot be changed right now; please try again.", retryAfterSeconds: 1)
        }
    }
}

/// Keeps the answer to one Responses request, called by the attempt that answers before the
/// answer's last byte reaches the client.
struct ResponseKeeper: Sendable {
    let store: ResponseStore
    let turn: ResponsesTurn
    let caller: String

    func keep(_ response: [UInt8], provider: String) async {
        await store.keep(turn, answeredBy: response, caller: caller, provider: provider)
    }
}

/// What the pipeline knows about a Responses request before its attempts: the id its answer gets
/// and the chain `previous_response_id` continues.
struct ResponsesTurn: Sendable {
    /// `resp_` and 48 hex digits, minted by the gateway (a passed-through answer keeps the
    /// provider's own id).
    let id: String
    /// The caller's stored chain; nil when the request names none or llmgw has not stored it.
    let history: ResponseStore.Entry?
    /// `previous_response_id` as sent.
    let previousID: String?
    /// The request's own `input` as items.
    let input: [JSONValue]
    /// The answer is to be kept (`store` not false, and the store is on).
    let store: Bool

    /// The translated targets' refusal for a `previous_response_id` llmgw does not have.
    var previousNotFound: GatewayError? {
        guard let previousID, history == nil else { return nil }
        return GatewayError(
            .badRequest, "Previous response with id '\(previousID)' not found.", param: "previous_response_id"
        ).withOpenAICode("previous_response_not_found")
    }

    static func mintID(_ random: any RandomSource) -> String {
        var id = "resp_"
        for _ in 0..<3 {
            let hex = String(random.next(), radix: 16)
            id += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return id
    }

    /// The items of the conversation once `response` (a `Response` object) answered it.
    func conversation(answeredBy response: [UInt8]) -> [JSONValue] {
        var items = history?.items ?? []
        items += input
        if let object = JSONScanner.parseObject(response), let output = object["output"]?.array {
            items += output
        }
        return items
    }
}

import Crypto
import Dialects
import GatewayCore

/// Derives the exact-match cache key of a request: SHA-256 over explicit, length-prefixed
/// material, so that two requests share a key only when everything that can change the answer is
/// the same.
///
/// Material, in order (every string and value is preceded by its length as 8 bytes big-endian):
///
/// 1. `formatVersion` — bump it to orphan every existing entry when this derivation changes.
/// 2. The namespace: the caller's id, or `"shared"` when callers share the cache.
/// 3. The endpoint path (`/v1/chat/completions`, `/v1/embeddings`, …).
/// 4. The model alias the client asked for (already resolved from the body by the caller).
/// 5. `namedMembers`, in that fixed order: the count present, then name + raw value of each
///    present one.
/// 6. Every other top-level member not in `excludedMembers`, sorted by name: the count, then
///    name + raw value of each. A parameter a provider adds tomorrow therefore changes the key
///    rather than letting two different requests collide; forgetting to exclude a harmless field
///    costs only hit rate, never correctness.
///
/// Values are the member's raw bytes as sent, not a canonical form: whitespace or key order
/// *inside* a value, `1` versus `1.0`, or an escaped versus a literal character change the key.
/// Whitespace between top-level members and their order do not. The official SDKs serialise
/// deterministically, so a retried or repeated request hits. A member that appears twice counts
/// once, with its last value (what JSON parsers keep).
public enum CacheKeyBuilder {
    public static let formatVersion = "llmgw-cache-key/1"

    /// Request members that shape the answer, hashed in this order when present.
    public static let namedMembers: [String] = [
        "messages", "tools", "tool_choice", "parallel_tool_calls", "functions", "function_call",
        "response_format", "temperature", "top_p", "n", "stop", "max_tokens", "max_completion_tokens",
        "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "seed",
        "reasoning_effort", "modalities", "audio", "prediction",
        // Embeddings.
        "input", "dimensions", "encoding_format",
        // A streamed answer is cached as its SSE transcript, a plain one as a JSON body: the
        // two are not interchangeable. (Absent and `false` differ too: raw bytes.)
        "stream",
        // The transcript is stored as the client received it, with the usage chunk only when
        // `include_usage` asked for it.
        "stream_options",
    ]

    /// Members deliberately left out of the key; every one of them leaves the answer unchanged.
    public static let excludedMembers: Set<String> = [
        // Hashed separately as the alias argument (the caller may have rewritten the member).
        "model",
        // End-user id for the provider's abuse monitoring. Tenants are separated by the
        // namespace, not by this.
        "user",
        // Newer name for the same abuse-monitoring id.
        "safety_identifier",
        // Free-form tags for the provider's dashboards and stored completions.
        "metadata",
        // Whether the provider keeps the completion for evals/distillation.
        "store",
        // Latency/price tier: same model, same answer.
        "service_tier",
        // Routing hint for the provider's own prompt cache.
        "prompt_cache_key",
    ]

    /// The key of `body` for `namespace`, `endpoint` and model `alias`, or nil when `body` is not
    /// one valid JSON object.
    /// Request headers that change the answer, part of the key with their values (absent and
    /// empty are the same). `anthropic-version` and `anthropic-beta` select the Messages API's
    /// behaviour (output formats, tools, thinking), so the same body may get another answer.
    public static let varyingHeaders = ["anthropic-version", "anthropic-beta"]

    /// `omitting` leaves further members out (the semantic cache hashes `messages` itself,
    /// without the embedded text: `SemanticPrompt`).
    public static func key(
        namespace: String, model: String, endpoint: String, body: [UInt8], headers: [String] = [],
        omitting: Set<String> = []
    ) -> CacheKey? {
        guard let scan = try? JSONScanner.scanObject(body) else { return nil }
        var latest: [String: Range<Int>] = [:]
        for member in scan.members where !omitting.contains(member.name) { latest[member.name] = member.valueRange }

        var hasher = SHA256()
        for text in [formatVersion, namespace, endpoint, model] { hasher.add(Array(text.utf8)) }
        if headers.contains(where: { !$0.isEmpty }) {
            hasher.add(length: headers.count)
            for value in headers { hasher.add(Array(value.utf8)) }
        }

        let named = namedMembers.compactMap { name in latest[name].map { (name, $0) } }
        let others = latest.filter { !excludedMembers.contains($0.key) && !namedMembers.contains($0.key) }
            .sorted { $0.key < $1.key }
        for section in [named, others.map { ($0.key, $0.value) }] {
            hasher.add(length: section.count)
            for (name, range) in section {
                hasher.add(Array(name.utf8))
                hasher.add(body[range])
            }
        }
        return CacheKey(digest: Array(hasher.finalize()))
    }
}

extension SHA256 {
    fileprivate mutating func add(length: Int) {
        withUnsafeBytes(of: UInt64(length).bigEndian) { update(bufferPointer: $0) }
    }

    fileprivate mutating func add(_ bytes: ArraySlice<UInt8>) {
        add(length: bytes.count)
        bytes.withUnsafeBytes { update(bufferPointer: $0) }
    }

    fileprivate mutating func add(_ bytes: [UInt8]) {
        add(bytes[...])
    }
}

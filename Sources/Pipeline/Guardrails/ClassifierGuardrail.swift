import Crypto
import Dialects
import GatewayCore
import Synchronization

/// What a classifier said about a text.
enum ClassifierVerdict: Sendable, Equatable {
    case safe
    /// Flagged, with its categories (Llama Guard codes, or moderation category names).
    case flagged([String])
}

/// The Llama Guard 3 prompt (`api: chat`) and the cap on the text a classifier is sent.
enum ClassifierPrompt {
    /// Llama Guard 3's hazard categories (the MLCommons taxonomy), as its model card lists them.
    static let categories: [(code: String, name: String)] = [
        ("S1", "Violent Crimes"), ("S2", "Non-Violent Crimes"), ("S3", "Sex Crimes"),
        ("S4", "Child Sexual Exploitation"), ("S5", "Defamation"), ("S6", "Specialized Advice"),
        ("S7", "Privacy"), ("S8", "Intellectual Property"), ("S9", "Indiscriminate Weapons"), ("S10", "Hate"),
        ("S11", "Suicide & Self-Harm"), ("S12", "Sexual Content"), ("S13", "Elections"),
        ("S14", "Code Interpreter Abuse"),
    ]

    /// The most text a classifier is sent, in UTF-8 bytes: a longer text is sent as its first and
    /// last `maximumBytes / 2` bytes around a `[…]` line (an injection is often at either end).
    static let maximumBytes = 32 * 1024

    /// The request's user-visible texts (`JSONTextScanner`: message text, system prompts, tool
    /// arguments and results; not structural values), decoded and joined by newlines, capped.
    static func screenedText(_ body: [UInt8]) -> String {
        var joined: [UInt8] = []
        for text in JSONTextScanner.texts(body) where !text.decoded.isEmpty {
            if !joined.isEmpty { joined.append(UInt8(ascii: "\n")) }
            joined += text.decoded
        }
        return capped(joined)
    }

    static func capped(_ bytes: [UInt8]) -> String {
        guard bytes.count > maximumBytes else { return String(decoding: bytes, as: UTF8.self) }
        let half = maximumBytes / 2
        // Cut on character boundaries: never start or end inside a UTF-8 sequence.
        var end = half
        while end > 0 && bytes[end] & 0xC0 == 0x80 { end -= 1 }
        var start = bytes.count - half
        while start < bytes.count && bytes[start] & 0xC0 == 0x80 { start += 1 }
        return String(decoding: bytes[..<end], as: UTF8.self) + "\n[…]\n"
            + String(decoding: bytes[start...], as: UTF8.self)
    }

    /// The official Llama Guard 3 prompt for classifying the user's turn: the task line, the
    /// categories, the conversation, the instructions for the answer. Sent as one user message.
    static func llamaGuard(_ text: String) -> String {
        var prompt =
            "Task: Check if there is unsafe content in 'User' messages in conversations according our safety "
            + "policy with the below categories.\n\n<BEGIN UNSAFE CONTENT CATEGORIES>\n"
        for category in categories { prompt += "\(category.code): \(category.name).\n" }
        prompt += "<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\nUser: "
        prompt += text
        prompt += "\n\n<END CONVERSATION>\n\nProvide your safety assessment for ONLY THE LAST User message in the "
        prompt += "above conversation:\n - First line must read 'safe' or 'unsafe'.\n"
        prompt += " - If unsafe, a second line must include a comma-separated list of violated categories."
        return prompt
    }
}

/// Reads a classifier's answer. Anything but a well-formed verdict is nil (the `failure` policy
/// decides).
enum ClassifierVerdictReader {
    /// `choices[0].message.content` of a chat completion, read as a Llama Guard verdict.
    static func chat(_ body: [UInt8]) -> ClassifierVerdict? {
        guard let content = (try? JSONScanner.parse(body))?["choices"]?[0]?["message"]?["content"]?.string
        else { return nil }
        return llamaGuard(content)
    }

    /// First line `safe`, or `unsafe` and a second line of comma-separated codes (`S1,S14`);
    /// surrounding blank space is ignored, case too. `unsafe` without a category is unreadable.
    static func llamaGuard(_ content: String) -> ClassifierVerdict? {
        let lines = content.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters() }.filter {
            !$0.isEmpty
        }
        guard let first = lines.first?.lowercased() else { return nil }
        if first == "safe" { return lines.count == 1 ? .safe : nil }
        guard first == "unsafe", lines.count == 2 else { return nil }
        let codes = lines[1].split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters().uppercased()
        }
        guard !codes.isEmpty, codes.allSatisfy(ClassifierConfiguration.isLlamaGuardCode) else { return nil }
        return .flagged(Array(Set(codes)).sorted(by: llamaGuardOrder))
    }

    /// The OpenAI moderation categories (`omni-moderation-latest`).
    static let moderationCategories: Set<String> = [
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
        "self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "sexual/minors", "violence",
        "violence/graphic",
    ]

    /// `results[0].flagged` and the categories set to true in `results[0].categories` of an
    /// OpenAI moderation answer. A category outside the known ones is named `other` (they become
    /// metric labels); flagged without any category is `flagged`.
    static func moderation(_ body: [UInt8]) -> ClassifierVerdict? {
        guard let result = (try? JSONScanner.parse(body))?["results"]?[0], let flagged = result["flagged"]?.bool,
            let categories = result["categories"]?.object
        else { return nil }
        guard flagged else { return .safe }
        var names = Set<String>()
        for member in categories.members where member.value.bool == true {
            names.insert(moderationCategories.contains(member.key) ? member.key : "other")
        }
        return .flagged(names.isEmpty ? ["flagged"] : names.sorted())
    }
}

/// Llama Guard codes in their numeric order (`S2` before `S14`).
private func llamaGuardOrder(_ lhs: String, _ rhs: String) -> Bool {
    (Int(lhs.dropFirst()) ?? 0, lhs) < (Int(rhs.dropFirst()) ?? 0, rhs)
}

extension Substring {
    fileprivate func trimmingCharacters() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

/// Verdicts kept in process by SHA-256 of the text screened, for `cache_ttl`; at most `capacity`
/// entries (past it, the oldest goes first).
final class ClassifierVerdictCache: Sendable {
    static let capacity = 10_000

    private struct Entry {
        var verdict: ClassifierVerdict
        var expiresAtMillis: Int64
    }

    private struct State {
        var entries: [SHA256Digest: Entry] = [:]
        /// Keys in insertion order, from `head` on (a queue without shifting).
        var order: [SHA256Digest] = []
        var head = 0
    }

    private let state = Mutex(State())
    let ttlMillis: Int64
    let capacity: Int

    init(ttl: Duration, capacity: Int = ClassifierVerdictCache.capacity) {
        self.ttlMillis = Int64(ttl / .milliseconds(1))
        self.capacity = capacity
    }

    static func key(_ text: String) -> SHA256Digest { SHA256.hash(data: Array(text.utf8)) }

    func verdict(for key: SHA256Digest, nowMillis: Int64) -> ClassifierVerdict? {
        state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            guard entry.expiresAtMillis > nowMillis else {
                state.entries[key] = nil
                return nil
            }
            return entry.verdict
        }
    }

    func store(_ verdict: ClassifierVerdict, for key: SHA256Digest, nowMillis: Int64) {
        state.withLock { state in
            if state.entries.updateValue(Entry(verdict: verdict, expiresAtMillis: nowMillis + ttlMillis), forKey: key)
                == nil
            {
                state.order.append(key)
            }
            while state.entries.count > capacity, state.head < state.order.count {
                state.entries[state.order[state.head]] = nil
                state.head += 1
            }
            // Keys whose entry expired and was dropped may still be queued: compact now and then.
            if state.head > capacity || state.order.count > 2 * capacity {
                state.order = state.order[state.head...].filter { state.entries[$0] != nil }
                state.head = 0
            }
        }
    }

    var count: Int { state.withLock { $0.entries.count } }
}

/// One `kind: classifier` guardrail, ready to run.
struct ClassifierGuardrail: Sendable {
    let configuration: GuardrailConfiguration
    let cache: ClassifierVerdictCache?

    init(_ configuration: GuardrailConfiguration) {
        self.configuration = configuration
        let ttl = configuration.classifier.cacheTTL
        self.cache = ttl > .zero ? ClassifierVerdictCache(ttl: ttl) : nil
    }

    /// Who the classifier traffic is charged to in the usage records.
    static let chargedCaller = "internal:guardrail"

    /// The internal request's body.
    func requestBody(_ text: String) -> [UInt8] {
        let settings = configuration.classifier
        var json = JSONWriter()
        json.object { json in
            json.field("model", settings.model)
            switch settings.api {
            case .chat:
                json.key("messages")
                json.array { json in
                    json.object { json in
                        json.field("role", "user")
                        json.field("content", ClassifierPrompt.llamaGuard(text))
                    }
                }
                json.field("max_tokens", 20)
                json.key("temperature")
                json.int(0)
            case .moderation:
                json.field("input", text)
            }
        }
        return json.bytes
    }

    /// The verdict on `text`: from the cache, or from the classifier within `timeout`; nil when
    /// it is down, too slow or its answer is unreadable.
    func verdict(
        on text: String, request: InternalRequest, caller: String, team: String?, requestID: String,
        clock: any WallClock
    ) async -> ClassifierVerdict? {
        let key = cache.map { _ in ClassifierVerdictCache.key(text) }
        if let cache, let key, let known = cache.verdict(for: key, nowMillis: clock.nowMillis()) { return known }
        let settings = configuration.classifier
        let call = InternalRequest.Call(
            model: settings.model,
            path: settings.api == .chat ? "/v1/chat/completions" : "/v1/moderations",
            endpoint: settings.api == .chat ? .chatCompletions : .moderations,
            body: requestBody(text), purpose: "guardrail", caller: caller, team: team, requestID: requestID,
            chargedCaller: Self.chargedCaller)
        let api = settings.api
        let verdict = await InternalRequest.within(settings.timeout) {
            await request.run(call).flatMap {
                api == .chat ? ClassifierVerdictReader.chat($0) : ClassifierVerdictReader.moderation($0)
            }
        }
        if let verdict, let cache, let key { cache.store(verdict, for: key, nowMillis: clock.nowMillis()) }
        return verdict
    }

    /// The categories of `verdict` that count (`categories:`, or all).
    func counted(_ verdict: ClassifierVerdict) -> [String] {
        guard case .flagged(let found) = verdict else { return [] }
        let only = configuration.classifier.categories
        return only.isEmpty ? found : found.filter(only.contains)
    }
}

/// The `kind: classifier` guardrails of the request stage (docs/guardrails.md): after the
/// `pii` and `regex` guardrails of the model (so they see its masked text), each classifier the
/// model names, in its order, is asked about the request's text through an internal request
/// (`InternalRequest`, `"internal":"guardrail"`, request id `<client's id>-guard`).
struct ClassifierStage: Sendable {
    let classifiers: [String: ClassifierGuardrail]
    let assignment: GuardrailAssignment
    let request: InternalRequest
    let clock: any WallClock

    init(configuration: GatewayConfiguration, request: InternalRequest, clock: any WallClock) {
        var classifiers: [String: ClassifierGuardrail] = [:]
        for entry in configuration.guardrails where entry.kind == .classifier && entry.on.coversRequest {
            classifiers[entry.name] = ClassifierGuardrail(entry)
        }
        self.classifiers = classifiers
        self.assignment = GuardrailAssignment(configuration, runs: Set(classifiers.keys))
        self.request = request
        self.clock = clock
    }

    /// `callerGuardrails`: the guardrails of the request's `callers:` entry.
    func applies(to model: String, callerGuardrails: [String]) -> Bool {
        assignment.applies(model: model, caller: callerGuardrails)
    }

    /// What the classifiers decided: the counts, and the refusal when one refused.
    struct Outcome: Sendable {
        var report = GuardrailReport()
        var refusal: GatewayError?
    }

    /// Screens `body` (already masked by the other guardrails) with the classifiers of `model`.
    /// The first that refuses stops the screening.
    func screen(
        _ body: [UInt8], model: String, callerGuardrails: [String] = [], caller: String, team: String?,
        requestID: String
    ) async -> Outcome {
        var outcome = Outcome()
        let names = assignment.names(model: model, caller: callerGuardrails)
        guard !names.isEmpty else { return outcome }
        let text = ClassifierPrompt.screenedText(body)
        guard !text.isEmpty else { return outcome }
        for (index, name) in names.enumerated() {
            guard let classifier = classifiers[name] else { continue }
            let guardrail = classifier.configuration
            let id = requestID + (index == 0 ? "-guard" : "-guard\(index + 1)")
            guard
                let verdict = await classifier.verdict(
                    on: text, request: request, caller: caller, team: team, requestID: id, clock: clock)
            else {
                switch guardrail.failure {
                case .open:
                    outcome.report.count(guardrail: guardrail.name, entity: "unavailable", action: "failure_open")
                    continue
                case .closed:
                    outcome.report.count(guardrail: guardrail.name, entity: "unavailable", action: "failure_closed")
                    outcome.refusal = GatewayError(
                        .badRequest,
                        "guardrail_violation: the request was refused by guardrail \"\(guardrail.name)\" "
                            + "(its classifier gave no verdict, and it fails closed)"
                    ).withOpenAICode("guardrail_violation")
                    return outcome
                }
            }
            let counted = classifier.counted(verdict)
            guard !counted.isEmpty else { continue }
            for category in counted {
                outcome.report.count(guardrail: guardrail.name, entity: category, action: guardrail.action.rawValue)
            }
            if guardrail.action == .reject {
                outcome.refusal = GuardrailRefusal(guardrail: guardrail.name, entities: counted).error
                return outcome
            }
        }
        return outcome
    }
}

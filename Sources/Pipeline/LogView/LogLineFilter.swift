import Dialects

/// Which lines of the JSON log `llmgw tail` shows (`--errors`, `--model`, `--caller`,
/// `--access-only`). The filters select access lines; operational lines are shown unless
/// `accessOnly`, or a model or caller is asked for (they have neither), and with `errorsOnly` only
/// from `warning` up. Lines that are not JSON objects are always shown.
public struct LogLineFilter: Sendable, Equatable {
    /// Only failed requests: a status outside 2xx, or an outcome other than `ok` and `cache_hit`.
    public var errorsOnly = false
    /// The model the client asked for (`model`) or the provider's (`upstream_model`).
    public var model: String?
    /// The `caller` as logged (`key:abc123`, `peer:uid=1000`), or only its part after the colon.
    public var caller: String?
    /// Hide operational lines.
    public var accessOnly = false

    public init(errorsOnly: Bool = false, model: String? = nil, caller: String? = nil, accessOnly: Bool = false) {
        self.errorsOnly = errorsOnly
        self.model = model
        self.caller = caller
        self.accessOnly = accessOnly
    }

    static let successfulOutcomes: Set<String> = ["ok", "cache_hit"]
    static let errorLevels: Set<String> = ["warning", "error", "critical"]

    public func admitsAccess(_ line: JSONObject) -> Bool {
        if errorsOnly {
            let status = line["status"]?.int ?? 0
            let outcome = line["outcome"]?.string ?? ""
            if (200..<300).contains(status) && Self.successfulOutcomes.contains(outcome) { return false }
        }
        if let model, line["model"]?.string != model && line["upstream_model"]?.string != model { return false }
        if let caller {
            guard let logged = line["caller"]?.string else { return false }
            let id = logged.firstIndex(of: ":").map { String(logged[logged.index(after: $0)...]) }
            if logged != caller && id != caller { return false }
        }
        return true
    }

    public func admitsOperational(_ line: JSONObject) -> Bool {
        if accessOnly || model != nil || caller != nil { return false }
        if errorsOnly { return Self.errorLevels.contains(line["level"]?.string ?? "") }
        return true
    }
}

/// A spending period for budgets.
public enum BudgetPeriod: String, Sendable, Codable, CaseIterable {
    case day, month

    /// The period containing `millis` (UTC), e.g. `2026-11-21` or `2026-11`.
    public func identifier(atMillis millis: Int64) -> String {
        let date = CivilDate(epochDays: Int(millis / 86_400_000))
        let month = date.month < 10 ? "0\(date.month)" : "\(date.month)"
        switch self {
        case .day:
            let day = date.day < 10 ? "0\(date.day)" : "\(date.day)"
            return "\(date.year)-\(month)-\(day)"
        case .month:
            return "\(date.year)-\(month)"
        }
    }
}

/// A budget in USD per period.
public struct Budget: Sendable, Equatable, Codable {
    public var usd: Double
    public var period: BudgetPeriod

    public init(usd: Double, period: BudgetPeriod) {
        self.usd = usd
        self.period = period
    }
}

/// Limits that apply to one scope (a key, a team, a provider target).
public struct LimitSettings: Sendable, Equatable, Codable {
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    public var budget: Budget?

    public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil, budget: Budget? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.budget = budget
    }

    public var isEmpty: Bool { requestsPerMinute == nil && tokensPerMinute == nil && budget == nil }
}

/// A virtual key as stored: never the secret, only its SHA-256.
public struct VirtualKeyRecord: Sendable, Equatable, Codable {
    public var publicID: String
    public var name: String
    public var team: String?
    /// SHA-256 of the secret part of the key.
    public var secretHash: [UInt8]
    /// Model aliases the key may use; nil means all.
    public var allowedModels: [String]?
    public var limits: LimitSettings
    public var createdAtMillis: Int64
    public var expiresAtMillis: Int64?
    public var revokedAtMillis: Int64?
    public var metadata: [String: String]

    public init(
        publicID: String,
        name: String,
        team: String? = nil,
        secretHash: [UInt8],
        allowedModels: [String]? = nil,
        limits: LimitSettings = .init(),
        createdAtMillis: Int64,
        expiresAtMillis: Int64? = nil,
        revokedAtMillis: Int64? = nil,
        metadata: [String: String] = [:]
    ) {
        self.publicID = publicID
        self.name = name
        self.team = team
        self.secretHash = secretHash
        self.allowedModels = allowedModels
        self.limits = limits
        self.createdAtMillis = createdAtMillis
        self.expiresAtMillis = expiresAtMillis
        self.revokedAtMillis = revokedAtMillis
        self.metadata = metadata
    }

    /// Why the key cannot be used at `nowMillis`, or nil when it can.
    public func unusableReason(atMillis nowMillis: Int64) -> String? {
        if revokedAtMillis != nil { return "revoked" }
        if let expiresAtMillis, expiresAtMillis <= nowMillis { return "expired" }
        return nil
    }
}

/// A team's shared limits and budget.
public struct TeamRecord: Sendable, Equatable, Codable {
    public var name: String
    public var limits: LimitSettings

    public init(name: String, limits: LimitSettings) {
        self.name = name
        self.limits = limits
    }
}

/// Where virtual keys and teams live: LMDB in production, memory in unit tests. Every lookup
/// reads the shared state, so a revocation takes effect on the next request in every sidecar.
public protocol KeyStore: Sendable {
    func key(publicID: String) async throws -> VirtualKeyRecord?
    func team(named name: String) async throws -> TeamRecord?
    func insert(_ record: VirtualKeyRecord) async throws
    func allKeys() async throws -> [VirtualKeyRecord]
    /// Marks the key revoked; returns false when there is no such key.
    func revoke(publicID: String, atMillis: Int64) async throws -> Bool
    func setTeam(_ team: TeamRecord) async throws
}

/// Proleptic Gregorian date from days since 1970-01-01 (Howard Hinnant's algorithm).
struct CivilDate {
    let year: Int
    let month: Int
    let day: Int

    init(epochDays: Int) {
        let z = epochDays + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }
}

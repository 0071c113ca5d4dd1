import GatewayCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One match in a text: the UTF-8 byte range and what it is.
struct PIIMatch: Sendable, Equatable {
    var range: Range<Int>
    /// The placeholder's label (`EMAIL`, or a regex pattern's label).
    var label: String
    /// The PII entity type, nil for an operator pattern.
    var entity: GuardrailConfiguration.Entity?
}

/// The built-in detectors of `kind: pii` (docs/guardrails.md, "Detectors"). Each works on the UTF-8
/// bytes of one decoded text: every entity type llmgw looks for is ASCII, so a scan over bytes is
/// enough and costs no String allocation. Matches never overlap: when two detectors claim the same
/// bytes, the one listed first in `GuardrailConfiguration.Entity` wins.
struct PIIDetector: Sendable {
    let entities: [GuardrailConfiguration.Entity]

    init(entities: [GuardrailConfiguration.Entity] = GuardrailConfiguration.Entity.allCases) {
        self.entities = entities
    }

    func matches(in text: [UInt8]) -> [PIIMatch] {
        var found: [PIIMatch] = []
        for entity in [GuardrailConfiguration.Entity.secret, .email, .iban, .card, .ssn, .ip, .phone]
        where entities.contains(entity) {
            let ranges: [Range<Int>] =
                switch entity {
                case .email: Self.emails(text)
                case .card: Self.cards(text)
                case .ssn: Self.ssns(text)
                case .iban: Self.ibans(text)
                case .phone: Self.phones(text)
                case .ip: Self.ips(text)
                case .secret: Self.secrets(text)
                }
            for range in ranges where !found.contains(where: { $0.range.overlaps(range) }) {
                found.append(PIIMatch(range: range, label: entity.label, entity: entity))
            }
        }
        return found.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    // MARK: - character classes

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    static func isUpper(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }
    static func isLower(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7A }
    static func isAlpha(_ byte: UInt8) -> Bool { isUpper(byte) || isLower(byte) }
    static func isAlnum(_ byte: UInt8) -> Bool { isAlpha(byte) || isDigit(byte) }
    static func isHex(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }
    /// A byte that may belong to a word: a match must not start or end inside one.
    static func isWord(_ byte: UInt8) -> Bool { isAlnum(byte) || byte == UInt8(ascii: "_") }

    /// Whether `byte` may be part of a match of `entity`: every byte of every match is. The stream
    /// masker holds back only the tail of a text that could still grow into a match.
    static func mayBelong(_ byte: UInt8, to entity: GuardrailConfiguration.Entity) -> Bool {
        switch entity {
        case .email: isLocal(byte) || byte == UInt8(ascii: "@")
        case .phone:
            isDigit(byte) || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")")
        case .card, .ssn: isDigit(byte) || byte == UInt8(ascii: " ") || byte == UInt8(ascii: "-")
        case .iban: isUpper(byte) || isDigit(byte) || byte == UInt8(ascii: " ")
        case .ip: isHex(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
        case .secret: isTokenByte(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "=")
        }
    }

    /// Where the tail of `text` that could still become (or hold) a match begins, no earlier than
    /// `floor`: the longest suffix one entity's bytes could make, and the `Bearer ` before a token.
    func tailStart(_ text: [UInt8], floor: Int) -> Int {
        var start = text.count
        for entity in entities {
            var index = text.count
            while index > floor, Self.mayBelong(text[index - 1], to: entity) { index -= 1 }
            start = min(start, index)
        }
        // A token is a secret after `Bearer `: that context is held with it (and with the space
        // a token has yet to follow).
        let bearer = Array("Bearer ".utf8)
        if entities.contains(.secret) {
            for index in stride(from: start, through: max(floor, start - bearer.count), by: -1)
            where index + bearer.count <= text.count && Array(text[index..<(index + bearer.count)]) == bearer {
                return index
            }
        }
        return start
    }

    static func before(_ text: [UInt8], _ index: Int) -> UInt8? { index > 0 ? text[index - 1] : nil }
    static func at(_ text: [UInt8], _ index: Int) -> UInt8? { index < text.count ? text[index] : nil }

    // MARK: - email

    static func isLocal(_ byte: UInt8) -> Bool {
        isAlnum(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "%")
            || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
    }

    static func isDomain(_ byte: UInt8) -> Bool {
        isAlnum(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }

    /// `local@domain.tld`: a local part of letters, digits and `._%+-`, a domain of at least two
    /// labels whose last is 2 or more letters.
    static func emails(_ text: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var index = 0
        while index < text.count {
            guard text[index] == UInt8(ascii: "@") else {
                index += 1
                continue
            }
            var start = index
            while start > 0, isLocal(text[start - 1]) { start -= 1 }
            while start < index, text[start] == UInt8(ascii: ".") { start += 1 }
            var end = index + 1
            while end < text.count, isDomain(text[end]) { end += 1 }
            while end > index + 1, !isAlnum(text[end - 1]) { end -= 1 }
            let domain = text[(index + 1)..<end]
            let labels = domain.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            let tld = labels.last ?? []
            if start < index, labels.count >= 2, !labels.contains(where: \.isEmpty), tld.count >= 2,
                tld.allSatisfy(isAlpha)
            {
                ranges.append(start..<end)
                index = end
            } else {
                index += 1
            }
        }
        return ranges
    }

    // MARK: - digit runs

    /// Runs of digits joined by single separators from `separators`, not inside a longer word or
    /// number; `(digits, range)` for each.
    static func digitRuns(_ text: [UInt8], separators: [UInt8]) -> [(digits: [UInt8], range: Range<Int>)] {
        var runs: [(digits: [UInt8], range: Range<Int>)] = []
        var index = 0
        while index < text.count {
            guard isDigit(text[index]), !(before(text, index).map(isWord) ?? false) else {
                index += 1
                continue
            }
            var digits: [UInt8] = []
            var end = index
            var cursor = index
            while cursor < text.count {
                if isDigit(text[cursor]) {
                    digits.append(text[cursor])
                    cursor += 1
                    end = cursor
                } else if separators.contains(text[cursor]), let next = at(text, cursor + 1), isDigit(next) {
                    cursor += 1
                } else {
                    break
                }
            }
            if !(at(text, end).map(isWord) ?? false) { runs.append((digits, index..<end)) }
            index = max(end, index + 1)
        }
        return runs
    }

    static func luhn(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (offset, byte) in digits.reversed().enumerated() {
            var value = Int(byte - 0x30)
            if offset % 2 == 1 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return sum % 10 == 0
    }

    /// 13 to 19 digits, optionally grouped by spaces or dashes, passing the Luhn check and starting
    /// with a digit a card network uses (2–6).
    static func cards(_ text: [UInt8]) -> [Range<Int>] {
        digitRuns(text, separators: [UInt8(ascii: " "), UInt8(ascii: "-")]).compactMap { run in
            guard (13...19).contains(run.digits.count), let first = run.digits.first,
                (UInt8(ascii: "2")...UInt8(ascii: "6")).contains(first), luhn(run.digits),
                Set(run.digits).count > 1
            else { return nil }
            return run.range
        }
    }

    /// `AAA-GG-SSSS` (dashes or spaces) or 9 bare digits after the word "SSN", outside the ranges
    /// the SSA never issues: area 000, 666 and 900–999, group 00, serial 0000.
    static func ssns(_ text: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        for separator in [UInt8(ascii: "-"), UInt8(ascii: " ")] {
            for run in digitRuns(text, separators: [separator]) where run.digits.count == 9 {
                let slice = Array(text[run.range])
                guard slice.count == 11, slice[3] == separator, slice[6] == separator, validSSN(run.digits)
                else { continue }
                ranges.append(run.range)
            }
        }
        return ranges
    }

    static func validSSN(_ digits: [UInt8]) -> Bool {
        func number(_ slice: ArraySlice<UInt8>) -> Int { slice.reduce(0) { $0 * 10 + Int($1 - 0x30) } }
        let area = number(digits[0..<3])
        let group = number(digits[3..<5])
        let serial = number(digits[5..<9])
        return area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
    }

    // MARK: - IBAN

    /// Two letters, two check digits and 11 to 30 letters or digits (optionally in space-separated
    /// groups of four), passing the ISO 13616 mod-97 check.
    static func ibans(_ text: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var index = 0
        while index + 15 <= text.count {
            guard isUpper(text[index]), isUpper(text[index + 1]), isDigit(text[index + 2]), isDigit(text[index + 3]),
                !(before(text, index).map(isWord) ?? false)
            else {
                index += 1
                continue
            }
            var characters: [UInt8] = Array(text[index..<(index + 4)])
            var cursor = index + 4
            var end = cursor
            while cursor < text.count, characters.count < 34 {
                let byte = text[cursor]
                if isDigit(byte) || isUpper(byte) {
                    characters.append(byte)
                    cursor += 1
                    end = cursor
                } else if byte == UInt8(ascii: " "), let next = at(text, cursor + 1), isDigit(next) || isUpper(next),
                    (characters.count % 4) == 0
                {
                    cursor += 1
                } else {
                    break
                }
            }
            if (15...34).contains(characters.count), !(at(text, end).map(isWord) ?? false), mod97(characters) == 1 {
                ranges.append(index..<end)
                index = end
            } else {
                index += 1
            }
        }
        return ranges
    }

    /// Where the `characters`-th IBAN character after `start` ends, counting the group spaces.
    static func endOffset(_ text: [UInt8], from start: Int, characters: Int) -> Int {
        var seen = 0
        var cursor = start
        while cursor < text.count, seen < characters {
            if text[cursor] != UInt8(ascii: " ") { seen += 1 }
            cursor += 1
        }
        return cursor
    }

    static func mod97(_ characters: [UInt8]) -> Int {
        let rearranged = characters[4...] + characters[0..<4]
        var remainder = 0
        for byte in rearranged {
            if isDigit(byte) {
                remainder = (remainder * 10 + Int(byte - 0x30)) % 97
            } else {
                remainder = (remainder * 100 + Int(byte - 0x41 + 10)) % 97
            }
        }
        return remainder
    }

    // MARK: - phone

    /// E.164 (`+` and 8 to 15 digits, separators allowed) or a North-American/European national
    /// form with separators: `(415) 555-0123`, `415-555-0123`, `415.555.0123`, `020 7946 0958`.
    /// Bare digit runs are not phones (too many order numbers look like them).
    static func phones(_ text: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        let separators: [UInt8] = [UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ")")]
        var index = 0
        while index < text.count {
            let byte = text[index]
            let plus = byte == UInt8(ascii: "+")
            let paren = byte == UInt8(ascii: "(")
            guard plus || paren || isDigit(byte), !(before(text, index).map(isWord) ?? false),
                before(text, index) != UInt8(ascii: "+")
            else {
                index += 1
                continue
            }
            var digits = 0
            var groups = 1
            var cursor = plus || paren ? index + 1 : index
            var end = cursor
            var closed = !paren
            while cursor < text.count {
                let current = text[cursor]
                if isDigit(current) {
                    digits += 1
                    cursor += 1
                    end = cursor
                } else if current == UInt8(ascii: ")"), !closed {
                    closed = true
                    groups += 1
                    cursor += 1
                    if at(text, cursor) == UInt8(ascii: " ") { cursor += 1 }
                } else if separators.contains(current), current != UInt8(ascii: ")"), let next = at(text, cursor + 1),
                    isDigit(next) || next == UInt8(ascii: "(")
                {
                    groups += 1
                    cursor += 1
                } else if current == UInt8(ascii: "("), plus {
                    cursor += 1
                } else {
                    break
                }
            }
            let bounded = !(at(text, end).map(isWord) ?? false) && closed
            let accepted =
                plus
                ? (8...15).contains(digits) && text[index + 1] != UInt8(ascii: "0")
                : (10...11).contains(digits) && groups >= 3
            if bounded, accepted, end > index {
                ranges.append(index..<end)
                index = end
            } else {
                index = max(index + 1, plus || paren ? index + 1 : end)
            }
        }
        return ranges
    }

    // MARK: - IP

    /// Dotted IPv4 (each octet 0–255, no leading zeros) and IPv6 as `inet_pton` accepts it (with at
    /// least two colons and two hex groups).
    static func ips(_ text: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var index = 0
        while index < text.count {
            let byte = text[index]
            guard isHex(byte) || byte == UInt8(ascii: ":"), !(before(text, index).map(isWord) ?? false),
                before(text, index) != UInt8(ascii: "."), before(text, index) != UInt8(ascii: ":")
            else {
                index += 1
                continue
            }
            var end = index
            while end < text.count, isHex(text[end]) || text[end] == UInt8(ascii: ":") || text[end] == UInt8(ascii: ".")
            {
                end += 1
            }
            while end > index, text[end - 1] == UInt8(ascii: ".") || text[end - 1] == UInt8(ascii: ":") {
                // A trailing "::" is part of an address; a single trailing colon or dot is prose.
                if end - index >= 2, text[end - 1] == UInt8(ascii: ":"), text[end - 2] == UInt8(ascii: ":") { break }
                end -= 1
            }
            let token = Array(text[index..<end])
            if end > index, !(at(text, end).map(isWord) ?? false), isIPv4(token) || isIPv6(token) {
                ranges.append(index..<end)
                index = end
            } else {
                index = max(index + 1, end)
            }
        }
        return ranges
    }

    static func isIPv4(_ token: [UInt8]) -> Bool {
        let parts = token.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            guard (1...3).contains(part.count), part.allSatisfy(isDigit) else { return false }
            if part.count > 1, part.first == UInt8(ascii: "0") { return false }
            return part.reduce(0) { $0 * 10 + Int($1 - 0x30) } <= 255
        }
    }

    static func isIPv6(_ token: [UInt8]) -> Bool {
        let colons = token.count { $0 == UInt8(ascii: ":") }
        let groups = token.split(separator: UInt8(ascii: ":")).count
        guard colons >= 2, groups >= 2, token.count <= 45 else { return false }
        var address = in6_addr()
        let text = String(decoding: token, as: UTF8.self)
        return inet_pton(AF_INET6, text, &address) == 1
    }

    // MARK: - secrets

    /// Known provider key prefixes and the minimum length of what follows them.
    static let secretPrefixes: [(prefix: [UInt8], minimumRest: Int)] = [
        ("sk-ant-", 20), ("sk-proj-", 20), ("sk-", 20), ("AKIA", 16), ("ASIA", 16), ("ghp_", 30), ("gho_", 30),
        ("ghs_", 30), ("ghu_", 30), ("github_pat_", 30), ("xoxb-", 10), ("xoxp-", 10), ("xoxa-", 10),
        ("xoxs-", 10), ("xapp-", 10), ("AIza", 30), ("glpat-", 20), ("hf_", 30), ("sk_live_", 20),
        ("rk_live_", 20),
    ].map { (Array($0.0.utf8), $0.1) }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        isWord(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/")
    }

    /// A token (letters, digits and `_-+/`, then `=` padding) that starts with a known provider key prefix, follows
    /// `Bearer `, or is 32 characters or more of upper case, lower case and digits mixed with an
    /// entropy of at least 4 bits a character.
    static func secrets(_ text: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var index = 0
        let bearer = Array("Bearer ".utf8)
        while index < text.count {
            guard isTokenByte(text[index]), !(before(text, index).map(isTokenByte) ?? false) else {
                index += 1
                continue
            }
            let afterBearer = index >= bearer.count && Array(text[(index - bearer.count)..<index]) == bearer
            var end = index
            while end < text.count, isTokenByte(text[end]) || (afterBearer && text[end] == UInt8(ascii: ".")) {
                end += 1
            }
            while end > index + 1, text[end - 1] == UInt8(ascii: "-") || text[end - 1] == UInt8(ascii: ".") { end -= 1 }
            while end < text.count, text[end] == UInt8(ascii: "=") { end += 1 }
            let token = text[index..<end]
            if isSecret(token) || (afterBearer && token.count >= 20) {
                ranges.append(index..<end)
            }
            index = max(end, index + 1)
        }
        return ranges
    }

    static func isSecret(_ token: ArraySlice<UInt8>) -> Bool {
        for (prefix, minimumRest) in secretPrefixes where token.starts(with: prefix) {
            let rest = token.dropFirst(prefix.count)
            if rest.count >= minimumRest {
                if prefix == Array("AKIA".utf8) || prefix == Array("ASIA".utf8) {
                    return rest.prefix(16).allSatisfy { isUpper($0) || isDigit($0) }
                }
                return true
            }
        }
        guard token.count >= 32 else { return false }
        guard token.contains(where: isUpper), token.contains(where: isLower), token.contains(where: isDigit) else {
            return false
        }
        return entropy(token) >= 4.0
    }

    static func entropy(_ token: ArraySlice<UInt8>) -> Double {
        var counts = [Int](repeating: 0, count: 256)
        for byte in token { counts[Int(byte)] += 1 }
        let total = Double(token.count)
        return counts.reduce(0.0) { sum, count in
            guard count > 0 else { return sum }
            let p = Double(count) / total
            return sum - p * log2(p)
        }
    }
}

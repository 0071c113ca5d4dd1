/// The scalar formats of the configuration file, as pure functions (also usable for CLI flags such
/// as `--expires 30d`). Each returns nil for text it does not accept.
public enum ConfigurationValue {
    /// The longest duration accepted anywhere (3650 days): long enough for any timeout, TTL or key
    /// expiry, short enough that no conversion (NIO `TimeAmount` nanoseconds, epoch milliseconds)
    /// can overflow.
    public static let maximumDuration: Duration = .seconds(3650 * 86_400)
    /// The largest size accepted anywhere (1 TiB).
    public static let maximumSize = 1 << 40

    /// `500ms`, `30s`, `5m`, `1h`, `1d`, or a bare number of seconds (`30`, `1.5`). Never negative,
    /// never over `maximumDuration`.
    public static func duration(_ text: String) -> Duration? {
        guard let milliseconds = durationMilliseconds(text),
            milliseconds <= Double(maximumDuration / .milliseconds(1))
        else { return nil }
        return .milliseconds(Int64(milliseconds))
    }

    /// Text that reads as a duration but is longer than `maximumDuration`.
    public static func exceedsMaximumDuration(_ text: String) -> Bool {
        durationMilliseconds(text).map { $0 > Double(maximumDuration / .milliseconds(1)) } ?? false
    }

    private static func durationMilliseconds(_ text: String) -> Double? {
        let trimmed = text.trimmingWhitespace()
        let units: [(suffix: String, milliseconds: Double)] = [
            ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000),
        ]
        var number = Substring(trimmed)
        var scale = 1000.0
        // "ms" is tried before "s" and "m", so "500ms" is never read as 500m + "s".
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            number = trimmed.dropLast(unit.suffix.count)
            scale = unit.milliseconds
            break
        }
        guard let value = decimal(number) else { return nil }
        let milliseconds = (value * scale).rounded()
        return milliseconds.isFinite ? milliseconds : nil
    }

    /// `512KiB`, `10MiB`, `1GiB` (powers of 1024), `1KB`, `1MB`, `1GB` (powers of 1000), `100B`, or a
    /// bare number of bytes. Zero, negative and sizes over `maximumSize` are rejected.
    public static func size(_ text: String) -> Int? {
        guard let bytes = unboundedSize(text), bytes <= maximumSize else { return nil }
        return bytes
    }

    /// Text that reads as a size but is larger than `maximumSize` (or than any integer).
    public static func exceedsMaximumSize(_ text: String) -> Bool {
        guard let bytes = unboundedSize(text) else {
            let digits = text.trimmingWhitespace().prefix { $0.isASCIIDigit }
            return digits.count > 18
        }
        return bytes > maximumSize
    }

    private static func unboundedSize(_ text: String) -> Int? {
        let trimmed = text.trimmingWhitespace()
        let units: [(suffix: String, bytes: Int)] = [
            ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30),
            ("KB", 1000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("B", 1),
        ]
        var number = Substring(trimmed)
        var scale = 1
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            number = Substring(trimmed.dropLast(unit.suffix.count).trimmingWhitespace())
            scale = unit.bytes
            break
        }
        guard !number.isEmpty, number.allSatisfy(\.isASCIIDigit), let value = Int(number), value > 0 else {
            return nil
        }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? Int.max : bytes
    }

    /// Permission bits in octal: `0660`, `660`, `0o660`. YAML may type `0660` as a number; callers pass
    /// the scalar's text as written, so the digits are always read as octal.
    public static func socketMode(_ text: String) -> UInt32? {
        let trimmed = text.trimmingWhitespace()
        let digits = trimmed.hasPrefix("0o") ? String(trimmed.dropFirst(2)) : trimmed
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit),
            let mode = UInt32(digits, radix: 8), mode <= 0o777
        else { return nil }
        return mode
    }

    /// `HOST:PORT`, or `[IPV6]:PORT` for IPv6 addresses; the port is 1–65535.
    public static func hostAndPort(_ text: String) -> HostAndPort? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            // An unbracketed IPv6 address is ambiguous (`::1:4000`).
            guard !host.contains(":") else { return nil }
        }
        guard !host.isEmpty, !host.contains(where: \.isWhitespace),
            !portText.isEmpty, portText.allSatisfy(\.isASCIIDigit),
            let port = Int(portText), (1...65535).contains(port)
        else { return nil }
        return HostAndPort(host: String(host), port: port)
    }

    /// `localhost`, `::1` or an IPv4 address in 127.0.0.0/8.
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) && UInt8($0) != nil }) else {
            return false
        }
        return octets[0] == "127"
    }

    /// An `http://` or `https://` URL with a non-empty host; returned without its trailing `/`.
    public static func baseURL(_ text: String) -> String? {
        let trimmed = text.trimmingWhitespace()
        guard let scheme = ["http://", "https://"].first(where: { trimmed.lowercased().hasPrefix($0) }) else {
            return nil
        }
        let authority = trimmed.dropFirst(scheme.count).prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let host = authority.split(separator: "@").last.map { $0.hasPrefix("[") ? $0 : $0.prefix { $0 != ":" } }
        guard let host, !host.isEmpty, !trimmed.contains(where: \.isWhitespace) else { return nil }
        var url = Substring(trimmed)
        while url.hasSuffix("/") && url.count > scheme.count + authority.count { url = url.dropLast() }
        return String(url)
    }

    /// The host of an `http(s)://` URL, without brackets or port (`::1`, `127.0.0.1`, `api.x.com`).
    public static func host(ofURL text: String) -> String? {
        guard let schemeEnd = text.range(of: "://") else { return nil }
        let authority = text[schemeEnd.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let hostPort = authority.split(separator: "@", omittingEmptySubsequences: false).last else { return nil }
        if hostPort.hasPrefix("["), let close = hostPort.firstIndex(of: "]") {
            return String(hostPort[hostPort.index(after: hostPort.startIndex)..<close]).lowercased()
        }
        let host = hostPort.prefix { $0 != ":" }
        return host.isEmpty ? nil : host.lowercased()
    }

    /// A provider name: `[A-Za-z0-9_.-]+`.
    public static func isProviderName(_ text: String) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII
                    && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                        || "_.-".unicodeScalars.contains(scalar))
            }
    }

    /// Digits with at most one decimal point (no sign, exponent or hex form).
    private static func decimal(_ text: Substring) -> Double? {
        guard !text.isEmpty, text.first != ".", text.last != ".",
            text.allSatisfy({ $0.isASCIIDigit || $0 == "." }), text.filter({ $0 == "." }).count <= 1
        else { return nil }
        return Double(text)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        var slice = self[...]
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}

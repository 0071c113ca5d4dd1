/// Prometheus text format (0.0.4) written by hand, for the figures read at scrape time: a family's
/// `# HELP` and `# TYPE` lines, then its samples. Names and help texts are the gateway's own
/// constants; a label value from the configuration goes through `escape`.
struct ExpositionText {
    var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(16 << 10)
    }

    /// A label value as the text format writes it between quotes.
    static func escape(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        return value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    mutating func family(_ name: String, type: String, help: String) {
        bytes.append(contentsOf: "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n".utf8)
    }

    /// One sample; `labels` is the inside of the braces (`version="0.1.0"`), empty for none.
    mutating func sample(_ name: String, labels: String = "", _ value: Double) {
        bytes.append(contentsOf: name.utf8)
        if !labels.isEmpty {
            bytes.append(UInt8(ascii: "{"))
            bytes.append(contentsOf: labels.utf8)
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: " "))
        // Whole numbers without a fraction (`12`, not `12.0`), the rest as Swift prints them.
        if value == value.rounded(), abs(value) < 1e15 {
            bytes.append(contentsOf: String(Int64(value)).utf8)
        } else {
            bytes.append(contentsOf: value.description.utf8)
        }
        bytes.append(UInt8(ascii: "\n"))
    }
}

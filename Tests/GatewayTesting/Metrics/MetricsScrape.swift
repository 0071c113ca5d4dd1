/// A `/metrics` answer read back into samples, for tests to look up exact series. A small reader of
/// the Prometheus text format (samples `name{label="value",…} number`; comments skipped; label
/// values unescaped); the Python test set checks the same text with the reference parser.
public struct MetricsScrape: Sendable {
    public struct Sample: Sendable, Equatable {
        public var name: String
        public var labels: [String: String]
        public var value: Double
    }

    public let samples: [Sample]
    /// `# TYPE` lines: family name -> type.
    public let types: [String: String]

    public init(_ text: String) {
        var samples: [Sample] = []
        var types: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                if parts.count == 2 { types[String(parts[0])] = String(parts[1]) }
                continue
            }
            if line.hasPrefix("#") { continue }
            if let sample = Self.sample(line) { samples.append(sample) }
        }
        self.samples = samples
        self.types = types
    }

    /// The value of the one series `name` with exactly `labels`; nil when there is none.
    public func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// Every series of `name` whose labels include `matching`.
    public func series(_ name: String, matching: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in
            sample.name == name && matching.allSatisfy { sample.labels[$0.key] == $0.value }
        }
    }

    /// The sum over every series of `name` whose labels include `matching`.
    public func total(_ name: String, matching: [String: String] = [:]) -> Double {
        series(name, matching: matching).reduce(0) { $0 + $1.value }
    }

    private static func sample(_ line: Substring) -> Sample? {
        guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
            return nil
        }
        let key = line[..<space]
        guard let brace = key.firstIndex(of: "{") else {
            return Sample(name: String(key), labels: [:], value: value)
        }
        var labels: [String: String] = [:]
        var rest = key[key.index(after: brace)...]
        while let equals = rest.firstIndex(of: "="), rest[rest.index(after: equals)] == "\"" {
            let name = String(rest[..<equals]).trimmingPrefix(",")
            var text = ""
            var index = rest.index(equals, offsetBy: 2)
            while index < rest.endIndex, rest[index] != "\"" {
                if rest[index] == "\\", rest.index(after: index) < rest.endIndex {
                    index = rest.index(after: index)
                    text.append(rest[index] == "n" ? "\n" : rest[index])
                } else {
                    text.append(rest[index])
                }
                index = rest.index(after: index)
            }
            labels[String(name)] = text
            guard index < rest.endIndex else { break }
            rest = rest[rest.index(after: index)...]
        }
        return Sample(name: String(key[..<brace]), labels: labels, value: value)
    }
}

import Foundation
import GatewayTesting

/// The metrics `docs/metrics.md` lists: each name with its type and label names.
struct DocumentedMetrics {
    struct Metric {
        var type: String
        var labels: Set<String>
    }

    private(set) var metrics: [String: Metric] = [:]
    /// The values the doc lists for the `outcome` label.
    private(set) var outcomes: Set<String> = []

    /// Labels Prometheus itself puts on every scraped series.
    static let targetLabels: Set<String> = ["instance", "job"]

    /// Parses the doc's tables: rows `| \`name\` | type | labels | meaning |` (the process table has
    /// no labels column).
    init(parsing text: String) throws {
        var outcomeBullet: String?
        for line in text.split(separator: "\n").map(String.init) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            // The `outcome` bullet, with its continuation lines.
            if trimmed.hasPrefix("- `outcome`:") {
                outcomeBullet = trimmed
            } else if outcomeBullet != nil, line.hasPrefix(" "), !trimmed.hasPrefix("- ") {
                outcomeBullet! += " " + trimmed
            } else if let bullet = outcomeBullet {
                outcomes = Set(Self.backticked(bullet)).subtracting(["outcome"])
                outcomeBullet = nil
            }
            guard trimmed.hasPrefix("| `") else { continue }
            let cells = trimmed.split(separator: "|", omittingEmptySubsequences: false).dropFirst().dropLast()
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3, let name = Self.backticked(cells[0]).first,
                ["counter", "gauge", "histogram"].contains(cells[1])
            else { continue }
            let labels = cells.count >= 4 ? Self.labelNames(cells[2]) : []
            if metrics[name] != nil { throw TestFailure("docs/metrics.md lists \(name) twice") }
            metrics[name] = Metric(type: cells[1], labels: labels)
        }
        metrics["up"] = Metric(type: "gauge", labels: [])
    }

    /// The `backticked` words of `text`, in order.
    static func backticked(_ text: String) -> [String] {
        text.split(separator: "`", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// The label names of a labels cell: the backticked words outside parentheses, up to a `=`
    /// (after which come the values: `` `result` = `hit`, `miss` ``). `—` is none.
    static func labelNames(_ cell: String) -> Set<String> {
        var names: Set<String> = []
        var depth = 0
        var inTicks = false
        var word = ""
        for character in cell {
            if character == "`" {
                if inTicks && depth == 0 { names.insert(word) }
                inTicks.toggle()
                word = ""
            } else if inTicks {
                word.append(character)
            } else if character == "(" {
                depth += 1
            } else if character == ")" {
                depth -= 1
            } else if character == "=" && depth == 0 {
                break
            }
        }
        return names
    }

    /// Every label name some documented metric has, plus the target labels and `le`.
    var allLabels: Set<String> {
        metrics.values.reduce(Self.targetLabels.union(["le"])) { $0.union($1.labels) }
    }

    /// The documented metric a series name belongs to (a histogram's `_bucket`, `_sum`, `_count`),
    /// and whether the series has `le`; nil for an undocumented name.
    func metric(ofSeries series: String) -> (name: String, metric: Metric, bucket: Bool)? {
        if let metric = metrics[series], metric.type != "histogram" { return (series, metric, false) }
        for suffix in ["_bucket", "_sum", "_count"] where series.hasSuffix(suffix) {
            let base = String(series.dropLast(suffix.count))
            if let metric = metrics[base], metric.type == "histogram" { return (base, metric, suffix == "_bucket") }
        }
        return nil
    }

    /// Every problem with the names in `expression`: undocumented series, labels a series does not
    /// have, grouping labels no metric has, functions PromQL does not have, unknown outcomes.
    func problems(in expression: String) -> [String] {
        let query: PromQLNames
        do {
            query = try PromQLNames(parsing: expression)
        } catch {
            return ["\(error)"]
        }
        var problems: [String] = []
        for selector in query.selectors {
            guard let (name, metric, bucket) = metric(ofSeries: selector.metric) else {
                problems.append("\(selector.metric) is not in docs/metrics.md")
                continue
            }
            let allowed = metric.labels.union(Self.targetLabels).union(bucket ? ["le"] : [])
            for label in selector.matchers.map(\.label) where !allowed.contains(label) {
                problems.append("\(selector.metric){\(label)}: \(name) has no label \(label)")
            }
            for matcher in selector.matchers where matcher.label == "outcome" {
                for value in matcher.value.split(separator: "|").map(String.init) where !outcomes.contains(value) {
                    problems.append("\(selector.metric){outcome}: \(value) is not an outcome")
                }
            }
        }
        for label in query.groupingLabels where !allLabels.contains(label) {
            problems.append("by/without/on (\(label)): no metric has the label \(label)")
        }
        for function in query.functions where !PromQLNames.functions.contains(function) {
            problems.append("\(function)(): not a PromQL function")
        }
        return problems
    }
}

/// The names in a PromQL expression: series selectors with their matchers, grouping labels
/// (`by`, `without`, `on`, `ignoring`, `group_left`, `group_right`) and function calls. Grafana
/// variables (`$instance`, `${datasource}`, `[$__rate_interval]`) are skipped.
struct PromQLNames {
    struct Matcher {
        var label: String
        var value: String
    }

    struct Selector {
        var metric: String
        var matchers: [Matcher]
    }

    private(set) var selectors: [Selector] = []
    private(set) var groupingLabels: Set<String> = []
    private(set) var functions: Set<String> = []

    static let groupingKeywords: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right"]
    static let operatorKeywords: Set<String> = ["and", "or", "unless", "bool", "offset", "atan2"]
    static let functions: Set<String> = [
        "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values", "group",
        "rate", "irate", "increase", "delta", "idelta", "deriv", "predict_linear", "resets", "changes",
        "histogram_quantile", "scalar", "vector", "time", "timestamp", "abs", "ceil", "floor", "round", "clamp",
        "clamp_min", "clamp_max", "absent", "absent_over_time", "label_replace", "label_join", "sort", "sort_desc",
        "avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time", "last_over_time",
        "quantile_over_time", "present_over_time",
    ]

    init(parsing expression: String) throws {
        let characters = Array(expression)
        var index = 0

        func isIdentifierStart(_ character: Character) -> Bool {
            character == "_" || character == ":" || (character.isASCII && character.isLetter)
        }
        func isIdentifier(_ character: Character) -> Bool {
            isIdentifierStart(character) || (character.isASCII && character.isNumber)
        }
        func skipSpaces() {
            while index < characters.count && characters[index].isWhitespace { index += 1 }
        }
        func identifier() -> String {
            let start = index
            while index < characters.count && isIdentifier(characters[index]) { index += 1 }
            return String(characters[start..<index])
        }
        /// Whether `by` or `without` comes next: `sum by (le) (...)`.
        func followedByGrouping() -> Bool {
            let rest = characters[index...].prefix { isIdentifier($0) }
            return rest.elementsEqual("by") || rest.elementsEqual("without")
        }
        func quoted() throws -> String {
            let quote = characters[index]
            index += 1
            var value = ""
            while index < characters.count && characters[index] != quote {
                if characters[index] == "\\" && quote != "`" { index += 1 }
                if index < characters.count { value.append(characters[index]) }
                index += 1
            }
            guard index < characters.count else { throw TestFailure("unterminated string in \(expression)") }
            index += 1
            return value
        }
        func matchers() throws -> [Matcher] {
            index += 1  // {
            var matchers: [Matcher] = []
            while true {
                skipSpaces()
                guard index < characters.count else { throw TestFailure("unterminated { in \(expression)") }
                if characters[index] == "}" { break }
                if characters[index] == "," {
                    index += 1
                    continue
                }
                let label = identifier()
                guard !label.isEmpty else { throw TestFailure("no label name at \(index) in \(expression)") }
                skipSpaces()
                while index < characters.count && "=!~".contains(characters[index]) { index += 1 }
                skipSpaces()
                guard index < characters.count, "\"'`".contains(characters[index]) else {
                    throw TestFailure("no quoted value for \(label) in \(expression)")
                }
                matchers.append(Matcher(label: label, value: try quoted()))
            }
            index += 1  // }
            return matchers
        }

        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace {
                index += 1
            } else if "\"'`".contains(character) {
                _ = try quoted()
            } else if character == "[" {
                while index < characters.count && characters[index] != "]" { index += 1 }
                index += 1
            } else if character == "$" {
                index += 1
                if index < characters.count && characters[index] == "{" {
                    while index < characters.count && characters[index] != "}" { index += 1 }
                    index += 1
                } else {
                    _ = identifier()
                }
            } else if character == "{" {
                throw TestFailure("a selector without a metric name in \(expression)")
            } else if character.isASCII && character.isNumber || character == "." {
                // A number (0.99, 1e3) or a duration after offset (5m).
                while index < characters.count && (isIdentifier(characters[index]) || characters[index] == ".") {
                    index += 1
                }
            } else if isIdentifierStart(character) {
                let name = identifier()
                skipSpaces()
                let next = index < characters.count ? characters[index] : " "
                if Self.groupingKeywords.contains(name) {
                    guard next == "(" else { continue }  // group_left without labels
                    guard let close = characters[index...].firstIndex(of: ")") else {
                        throw TestFailure("unbalanced ( after \(name) in \(expression)")
                    }
                    for label in String(characters[(index + 1)..<close]).split(separator: ",") {
                        let trimmed = label.trimmingCharacters(in: .whitespaces)
                        if !trimmed.isEmpty { groupingLabels.insert(trimmed) }
                    }
                    index = close + 1
                } else if Self.operatorKeywords.contains(name) {
                    continue
                } else if next == "(" || followedByGrouping() {
                    functions.insert(name)
                } else if next == "{" {
                    selectors.append(Selector(metric: name, matchers: try matchers()))
                } else {
                    selectors.append(Selector(metric: name, matchers: []))
                }
            } else {
                index += 1
            }
        }
    }
}

import Dialects

/// Turns one line of llmgw's JSON log into the line `llmgw tail` prints.
///
/// An access line (`"msg":"request"`, docs/design.md §6) becomes
///
///     16:00:00.123 200 ok              /v1/chat/completions smart → openai/gpt-4o 815.2ms 57→17 tok $0.000312 cache=miss key:abc123 trace=4bf9…
///
/// (time, status, outcome, route, model → provider/upstream model, latency, tokens in → out, cost,
/// cache, caller, trace id, then `error="…"` for a failure); an operational line becomes
/// `16:00:00.123 WARNING llmgw: message key=value …`. Status and outcome (and the level) are
/// coloured when `color` is on. A line that is not a JSON object with a `msg` is returned as it
/// came; a line the filter hides gives nil. Values are printed with control characters replaced,
/// so a model name cannot send escape sequences to the terminal.
public struct LogLineFormatter: Sendable {
    public var color: Bool
    public var filter: LogLineFilter

    public init(color: Bool = false, filter: LogLineFilter = LogLineFilter()) {
        self.color = color
        self.filter = filter
    }

    public func render(_ line: [UInt8]) -> String? {
        guard let object = JSONScanner.parseObject(line), let message = object["msg"]?.string else {
            return String(decoding: line, as: UTF8.self)
        }
        if message == "request" {
            return filter.admitsAccess(object) ? access(object) : nil
        }
        return filter.admitsOperational(object) ? operational(object, message: message) : nil
    }

    private func access(_ line: JSONObject) -> String {
        var parts: [String] = [paint(Self.time(line["ts"]), .dim)]
        let status = line["status"]?.int ?? 0
        parts.append(paint(Self.padded(String(status), 3), Self.statusColor(status)))
        let outcome = line["outcome"]?.string ?? "-"
        parts.append(paint(Self.padded(Self.clean(outcome), 15), Self.outcomeColor(outcome)))
        parts.append(Self.text(line["route"]))
        var model = Self.text(line["model"])
        if let provider = line["provider"]?.string {
            model += " → " + Self.clean(provider) + "/" + Self.text(line["upstream_model"])
        }
        parts.append(model)
        if let latency = line["latency_ms"]?.numberText { parts.append(latency + "ms") }
        let input = line["prompt_tokens"]?.int
        let output = line["completion_tokens"]?.int
        if input != nil || output != nil {
            parts.append("\(input.map(String.init) ?? "-")→\(output.map(String.init) ?? "-") tok")
        }
        if let cost = line["cost_usd"]?.numberText { parts.append("$" + cost) }
        if let cache = line["cache"]?.string, cache != "bypass" { parts.append("cache=" + Self.clean(cache)) }
        if let caller = line["caller"]?.string { parts.append(Self.clean(caller)) }
        if let trace = line["trace_id"]?.string { parts.append(paint("trace=" + Self.clean(trace), .dim)) }
        if let error = line["error"]?.string ?? Self.lastAttemptError(line) {
            parts.append(paint("error=" + Self.quoted(error), Self.statusColor(500)))
        }
        return parts.joined(separator: " ")
    }

    private func operational(_ line: JSONObject, message: String) -> String {
        let level = line["level"]?.string ?? "info"
        var text = paint(Self.time(line["ts"]), .dim) + " "
        text += paint(Self.padded(Self.clean(level.uppercased()), 7), Self.levelColor(level)) + " "
        if let logger = line["logger"]?.string { text += Self.clean(logger) + ": " }
        text += Self.clean(message)
        for member in line.members where !["ts", "level", "msg", "logger"].contains(member.key) {
            let value =
                member.value.string.map { Self.bare($0) }
                ?? Self.clean(String(decoding: member.value.bytes, as: UTF8.self))
            text += " " + Self.clean(member.key) + "=" + value
        }
        return text
    }

    /// The failure of the last attempt that had one, for a line without an `error` of its own.
    private static func lastAttemptError(_ line: JSONObject) -> String? {
        line["attempts"]?.array?.last { $0["error"]?.string != nil }?["error"]?.string
    }

    // MARK: - Text

    enum Color: String {
        case red = "31"
        case green = "32"
        case yellow = "33"
        case cyan = "36"
        case dim = "2"
    }

    private func paint(_ text: String, _ color: Color?) -> String {
        guard self.color, let color else { return text }
        return "\u{1B}[\(color.rawValue)m\(text)\u{1B}[0m"
    }

    static func statusColor(_ status: Int) -> Color? {
        switch status {
        case 200..<300: .green
        case 300..<400: .cyan
        case 400..<500: .yellow
        default: .red
        }
    }

    static func outcomeColor(_ outcome: String) -> Color? {
        switch outcome {
        case "ok": .green
        case "cache_hit": .cyan
        case "upstream_error", "timeout", "stream_cut": .red
        default: .yellow
        }
    }

    static func levelColor(_ level: String) -> Color? {
        switch level {
        case "warning", "notice": .yellow
        case "error", "critical": .red
        case "debug", "trace": .dim
        default: nil
        }
    }

    /// `HH:MM:SS.mmm` of an RFC 3339 timestamp; anything else as it is.
    static func time(_ value: JSONValue?) -> String {
        guard let ts = value?.string else { return "-" }
        guard let t = ts.firstIndex(of: "T") else { return clean(ts) }
        var time = ts[ts.index(after: t)...]
        if time.hasSuffix("Z") { time = time.dropLast() }
        return clean(String(time))
    }

    static func text(_ value: JSONValue?) -> String {
        value?.string.map(clean) ?? "-"
    }

    static func padded(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// `text` with every control character (C0, DEL, C1) shown as `?`.
    static func clean(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.map { isControl($0) ? "?" : $0 }))
    }

    /// A string value as is when it has no spaces or quotes, else quoted.
    static func bare(_ text: String) -> String {
        text.isEmpty || text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) ? quoted(text) : clean(text)
    }

    static func quoted(_ text: String) -> String {
        "\"" + clean(text).replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}

import GatewayCore
import Logging

/// A swift-log handler that prints one JSON object per line:
/// `{"ts":…,"level":…,"msg":…,"label":…, <metadata…>}`. Messages are constant strings; data goes
/// in metadata. Used for every operational line (start, stop, config errors), so that operators
/// parse one format.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let writer: LineWriter

    public init(label: String, level: Logger.Level = .info, writer: LineWriter = .standardOutput) {
        self.label = label
        self.logLevel = level
        self.writer = writer
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var json = JSONWriter()
        json.object { json in
            json.field("ts", Timestamp.now())
            json.field("level", event.level.jsonName)
            json.field("msg", event.message.description)
            json.field("logger", label)
            var merged = metadata
            if let extra = event.metadata { merged.merge(extra) { $1 } }
            for key in merged.keys.sorted() {
                json.key(key)
                Self.write(merged[key]!, into: &json)
            }
        }
        writer.write(line: json.bytes)
    }

    private static func write(_ value: Logger.Metadata.Value, into json: inout JSONWriter) {
        switch value {
        case .string(let text): json.string(text)
        case .stringConvertible(let convertible): json.string(convertible.description)
        case .array(let values): json.array { for element in values { write(element, into: &$0) } }
        case .dictionary(let dictionary):
            json.object { json in
                for key in dictionary.keys.sorted() {
                    json.key(key)
                    write(dictionary[key]!, into: &json)
                }
            }
        }
    }
}

extension Logger.Level {
    var jsonName: String {
        switch self {
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        case .critical: "critical"
        }
    }
}

import ArgumentParser
import Pipeline

#if canImport(Glibc)
    import Glibc
#endif

/// `llmgw tail [FILE]`: follows the JSON log and prints one readable line per request (and, unless
/// hidden, a compact line per operational message). FILE is followed across appends and rotation
/// like `tail -F`; without FILE, or with `-`, the log is read from stdin to its end.
struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow the JSON log (a file or stdin) and print it readably.",
        discussion: """
            Each access line becomes: time, status, outcome, route, model → provider/upstream model, \
            latency, tokens in→out, cost, cache, caller, trace id, and the error of a failed request. \
            Lines that are not llmgw's JSON are printed unchanged. Operational lines are shown unless \
            --access-only, --model or --caller is given; with --errors only from warning up.
            """
    )

    @Argument(help: "The log file (log.file); '-' or nothing reads stdin.")
    var file: String?

    @Option(name: [.customShort("n"), .long], help: "Start this many lines before the end of FILE, or 'all'.")
    var lines: LineCount = .last(10)

    @Flag(inversion: .prefixedNo, help: "Keep following FILE for new lines (and across rotation).")
    var follow = true

    @Flag(name: .customLong("no-color"), help: "Never colour (the default colours a terminal, unless NO_COLOR is set).")
    var noColor = false

    @Flag(help: "Only failed requests: a status other than 2xx, or an outcome other than ok or cache_hit.")
    var errors = false

    @Option(help: "Only requests for this model (as the client named it, or the provider's model).")
    var model: String?

    @Option(help: "Only requests of this caller (key:ID, peer:uid=N, or the part after the colon).")
    var caller: String?

    @Flag(help: "Hide operational lines; show access lines only.")
    var accessOnly = false

    func run() throws {
        let formatter = LogLineFormatter(
            color: !noColor && isatty(1) == 1 && getenv("NO_COLOR") == nil,
            filter: LogLineFilter(errorsOnly: errors, model: model, caller: caller, accessOnly: accessOnly)
        )
        let output = TailOutput(formatter: formatter)
        if let file, file != "-" {
            let follower = LogFileFollower(path: file, start: lines, follow: follow)
            do {
                try follower.run { output.emit($0) }
            } catch {
                TailOutput.write("llmgw tail: \(error)\n", to: 2)
                throw ExitCode(1)
            }
        } else {
            while let line = readLine(strippingNewline: true), output.emit(Array(line.utf8)) {}
        }
    }
}

/// How far back `llmgw tail` starts in a file: `-n 10` (the default), `-n 0`, `-n all`.
enum LineCount: ExpressibleByArgument, Equatable {
    case all
    case last(Int)

    init?(argument: String) {
        if argument == "all" {
            self = .all
        } else if let count = Int(argument), count >= 0 {
            self = .last(count)
        } else {
            return nil
        }
    }

    var defaultValueDescription: String {
        switch self {
        case .all: "all"
        case .last(let count): String(count)
        }
    }
}

/// Prints rendered lines to stdout, each as it comes (the reader is a person, or a pipe that
/// wants lines as they come). `emit` returns false once stdout is gone, to stop.
struct TailOutput {
    let formatter: LogLineFormatter

    func emit(_ line: [UInt8]) -> Bool {
        guard let text = formatter.render(line) else { return true }
        return Self.write(text + "\n", to: 1)
    }

    /// Writes all of `text` to `descriptor`; false when it cannot (a closed pipe: SIGPIPE is ignored).
    @discardableResult
    static func write(_ text: String, to descriptor: Int32) -> Bool {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }
}

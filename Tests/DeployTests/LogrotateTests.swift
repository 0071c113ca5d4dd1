import Foundation
import GatewayTesting
import Testing

/// `deploy/logrotate/llmgw`: one stanza for the gateway's `log.file`, rotated daily or by size,
/// compressed one rotation late, and a `postrotate` that sends SIGUSR1 (which reopens the file);
/// `logrotate -d` accepts it where logrotate is installed.
struct LogrotateTests {
    /// The file's stanzas: the path patterns of each and its directives in order, with the lines of
    /// `postrotate … endscript` as one directive's script.
    struct Stanza {
        var patterns: [String]
        var directives: [[String]] = []
        var postrotate: [String] = []

        func has(_ keyword: String) -> Bool { directives.contains { $0.first == keyword } }
        func arguments(_ keyword: String) -> [String]? {
            directives.last { $0.first == keyword }.map { Array($0.dropFirst()) }
        }
    }

    static func parse(_ text: String) throws -> [Stanza] {
        var stanzas: [Stanza] = []
        var current: Stanza?
        var inScript = false
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if inScript {
                if line == "endscript" { inScript = false } else { current?.postrotate.append(line) }
                continue
            }
            if line.hasSuffix("{") {
                guard current == nil else { throw TestFailure("nested stanza: \(line)") }
                current = Stanza(patterns: line.dropLast().split(separator: " ").map(String.init))
            } else if line == "}" {
                guard let stanza = current else { throw TestFailure("} outside a stanza") }
                stanzas.append(stanza)
                current = nil
            } else if line == "postrotate" {
                inScript = true
            } else {
                guard current != nil else { throw TestFailure("directive outside a stanza: \(line)") }
                current?.directives.append(line.split(separator: " ").map(String.init))
            }
        }
        guard current == nil, !inScript else { throw TestFailure("unterminated stanza or script") }
        return stanzas
    }

    @Test func rotatesTheLogFileAndSignalsTheGatewayToReopenIt() throws {
        let stanzas = try Self.parse(try DeployFiles.text("deploy/logrotate/llmgw"))
        #expect(stanzas.count == 1)
        let stanza = try #require(stanzas.first)
        #expect(stanza.patterns == ["/var/log/llmgw/*.log"])
        for keyword in ["daily", "compress", "delaycompress", "missingok", "notifempty", "sharedscripts"] {
            #expect(stanza.has(keyword), "\(keyword)")
        }
        #expect(Int(stanza.arguments("rotate")?.first ?? "") ?? 0 > 0)
        #expect(stanza.arguments("maxsize")?.first?.hasSuffix("M") == true)
        // The same owner and mode as `log.file_mode`'s default and the service's user.
        #expect(stanza.arguments("create") == ["0640", "llmgw", "llmgw"])
        #expect(stanza.postrotate.contains { $0.hasPrefix("pkill -USR1 -x llmgw") })
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/logrotate")))
    func logrotateAcceptsTheFile() async throws {
        // A copy without `su`, whose user need not exist here; `-d` only reads and reports.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "llmgw-logrotate-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = try DeployFiles.text("deploy/logrotate/llmgw")
            .replacingOccurrences(of: "/var/log/llmgw/", with: directory.path + "/")
            .replacingOccurrences(of: "llmgw llmgw", with: "root root")
        let config = directory.appendingPathComponent("llmgw.conf")
        try text.write(to: config, atomically: true, encoding: .utf8)
        let result = try await DeployFiles.run(
            "/usr/sbin/logrotate", ["-d", "-s", directory.appendingPathComponent("status").path, config.path])
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.lowercased().contains("error"), "\(result.output)")
    }
}

import Foundation
import GatewayTesting

/// The repository's `deploy/` files, read for the tests.
enum DeployFiles {
    /// The repository root (this file is `Tests/DeployTests/DeployFiles.swift`).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static func text(_ relative: String) throws -> String {
        try String(contentsOf: url(relative), encoding: .utf8)
    }

    /// Runs `executable` with `arguments`; its exit status and its stdout and stderr together. The
    /// wait happens on a thread of its own: blocking the concurrency pool (two threads on a 2-core
    /// machine) for a slow tool stalled every other test of the process.
    static func run(_ executable: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await blocking { try runBlocking(executable, arguments) }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String]) throws -> (
        status: Int32, output: String
    ) {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

/// A systemd unit file: its sections, each with its assignments in order (a key may repeat).
struct SystemdUnit {
    private(set) var sections: [String: [(key: String, value: String)]] = [:]

    init(parsing text: String) throws {
        var section: String?
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast())
                sections[section!, default: []] += []
                continue
            }
            guard let section, let equals = line.firstIndex(of: "=") else {
                throw TestFailure("line \(number + 1) is neither a [Section] nor Key=Value: \(line)")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[section, default: []].append((key, value))
        }
    }

    /// Every value of `key` in `section`.
    func values(_ section: String, _ key: String) -> [String] {
        (sections[section] ?? []).filter { $0.key == key }.map(\.value)
    }

    /// The last value of `key` in `section` (the one systemd uses for a single-valued key).
    func value(_ section: String, _ key: String) -> String? { values(section, key).last }
}

/// A Dockerfile's instructions, in order, with continuation lines joined.
struct Dockerfile {
    struct Instruction {
        var keyword: String
        var arguments: String
    }

    let instructions: [Instruction]

    init(parsing text: String) {
        var joined: [String] = []
        var pending = ""
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if pending.isEmpty && (line.isEmpty || line.hasPrefix("#")) { continue }
            if line.hasSuffix("\\") {
                pending += line.dropLast() + " "
            } else {
                joined.append(pending + line)
                pending = ""
            }
        }
        instructions = joined.map { line in
            let keyword = line.prefix { !$0.isWhitespace }
            return Instruction(
                keyword: keyword.uppercased(),
                arguments: line.dropFirst(keyword.count).trimmingCharacters(in: .whitespaces))
        }
    }

    /// The instructions of each stage, from its `FROM` on.
    var stages: [[Instruction]] {
        var stages: [[Instruction]] = []
        for instruction in instructions {
            if instruction.keyword == "FROM" { stages.append([]) }
            if !stages.isEmpty { stages[stages.count - 1].append(instruction) }
        }
        return stages
    }

    /// The packages `apt-get install` installs in `stage`.
    static func installedPackages(_ stage: [Instruction]) -> Set<String> {
        var packages: Set<String> = []
        for instruction in stage where instruction.keyword == "RUN" {
            for command in instruction.arguments.components(separatedBy: "&&") {
                let words = command.split(separator: " ").map(String.init)
                guard let install = words.firstIndex(of: "install"), words.prefix(install).contains("apt-get")
                else { continue }
                packages.formUnion(words[(install + 1)...].filter { !$0.hasPrefix("-") })
            }
        }
        return packages
    }
}

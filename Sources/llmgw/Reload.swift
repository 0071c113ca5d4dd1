import ArgumentParser
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// `llmgw reload --config FILE`: sends SIGHUP to every `llmgw serve` of this PID namespace that
/// runs that config file, which re-reads it (`ConfigReloader`). The outcome — applied, or rejected
/// with its errors — is in each instance's log.
struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make the running gateways of a config file re-read it (SIGHUP).",
        discussion: """
            Finds the `llmgw serve` processes whose --config (or LLMGW_CONFIG) is the same file \
            and sends each SIGHUP. An invalid file is rejected by the gateway, which keeps serving \
            its running configuration and logs why. Exits 1 when no instance runs that file.
            """
    )

    @OptionGroup var options: ConfigOption

    func run() throws {
        let path = try options.path()
        var wanted = stat()
        guard stat(path, &wanted) == 0 else {
            throw ValidationError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let instances = GatewayInstances.scan().filter { $0.config.map { Self.sameFile($0, wanted) } ?? false }
        let pids = Set(instances.map(\.pid))
        // A PID supervisor forwards SIGHUP to its child: signal the outermost process only.
        let targets = instances.filter { !pids.contains($0.parent) }
        guard !targets.isEmpty else {
            FileHandle.standardError.write(
                Data("llmgw reload: no `llmgw serve` for \(path) runs in this PID namespace\n".utf8))
            throw ExitCode(1)
        }
        for instance in targets {
            if kill(instance.pid, SIGHUP) == 0 {
                print("sent SIGHUP to pid \(instance.pid)")
            } else {
                FileHandle.standardError.write(
                    Data("llmgw reload: pid \(instance.pid): \(String(cString: strerror(errno)))\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    private static func sameFile(_ path: String, _ wanted: stat) -> Bool {
        var found = stat()
        return stat(path, &found) == 0 && found.st_dev == wanted.st_dev && found.st_ino == wanted.st_ino
    }
}

/// The `llmgw serve` processes visible in /proc, with the config file each runs as a path this
/// process can open (through `/proc/PID/root` and `/proc/PID/cwd`, so a relative path or another
/// mount namespace still names the right file).
enum GatewayInstances {
    struct Instance: Equatable {
        let pid: pid_t
        let parent: pid_t
        let config: String?
    }

    static func scan(proc: String = "/proc") -> [Instance] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: proc)) ?? []
        return entries.compactMap { pid_t($0) }.sorted().compactMap { instance(pid: $0, proc: proc) }
    }

    static func instance(pid: pid_t, proc: String) -> Instance? {
        guard let commandLine = FileManager.default.contents(atPath: "\(proc)/\(pid)/cmdline") else { return nil }
        let arguments = nulSeparated(commandLine)
        guard let program = arguments.first, program.split(separator: "/").last == "llmgw",
            let serve = arguments.firstIndex(of: "serve")
        else { return nil }
        let options = Array(arguments[(serve + 1)...])
        var config = configArgument(options)
        if config == nil, let environ = FileManager.default.contents(atPath: "\(proc)/\(pid)/environ") {
            config = nulSeparated(environ).first { $0.hasPrefix("LLMGW_CONFIG=") }.map {
                String($0.dropFirst("LLMGW_CONFIG=".count))
            }
        }
        return Instance(
            pid: pid, parent: parentPID(pid: pid, proc: proc) ?? 0,
            config: config.map { $0.hasPrefix("/") ? "\(proc)/\(pid)/root\($0)" : "\(proc)/\(pid)/cwd/\($0)" })
    }

    static func configArgument(_ options: [String]) -> String? {
        for (index, option) in options.enumerated() {
            if option == "--config", index + 1 < options.count { return options[index + 1] }
            if option.hasPrefix("--config=") { return String(option.dropFirst("--config=".count)) }
        }
        return nil
    }

    /// Field 4 of /proc/PID/stat, read after the command name (which may hold spaces and parens).
    static func parentPID(pid: pid_t, proc: String) -> pid_t? {
        guard let data = FileManager.default.contents(atPath: "\(proc)/\(pid)/stat"),
            let text = String(data: data, encoding: .utf8), let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }

    private static func nulSeparated(_ data: Data) -> [String] {
        data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            .filter { !$0.isEmpty }
    }
}

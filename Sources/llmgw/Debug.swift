import ArgumentParser
import Foundation
import GatewayCore
import Store

/// `llmgw debug …`: hidden commands for testing the gateway the way it is deployed.
struct Debug: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Commands for testing the shared state (not for production use).",
        shouldDisplay: false,
        subcommands: [HoldWriteLock.self]
    )

    /// Opens the shared state, takes LMDB's writer lock, prints `holding` and keeps the lock for
    /// `--seconds` (a test freezes it with SIGSTOP to play a hung sidecar), then increments
    /// `debug_holds` in `meta` and commits.
    struct HoldWriteLock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "hold-write-lock", abstract: "Hold the shared state's writer lock for a while.")

        @OptionGroup var options: ConfigOption
        @Option(help: "How long to hold the lock.") var seconds: Double = 5

        func run() async throws {
            let executor = try SharedStateFactory.layout(try loadConfiguration(options)).volatile
            let environment = executor.environment
            let meta = environment.database("meta")
            let key = Array("debug_holds".utf8)
            let seconds = self.seconds
            try environment.withWriteTransaction { transaction in
                FileHandle.standardOutput.write(Data("holding\n".utf8))
                usleep(UInt32(min(max(seconds, 0), 3600) * 1_000_000))
                let count = (try transaction.get(meta, key)).map { $0.count } ?? 0
                try transaction.put(meta, key, [UInt8](repeating: 1, count: count + 1))
            }
        }
    }
}

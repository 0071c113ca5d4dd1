import ArgumentParser
import GatewayCore
import Logging
import Pipeline
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// `log.file`: the process's log lines go to that file, opened once at start and again on every
/// SIGUSR1 (logrotate's `postrotate`, deploy/logrotate/llmgw). Without `log.file` SIGUSR1 is
/// accepted and does nothing, so one signal may go to every llmgw process on the host.
struct LogFileReopener: Service {
    let writer: LineWriter
    let logger: Logger

    /// Sends the log to `log.file` when the configuration names one; a file that cannot be opened
    /// for appending is a start error (exit 1), reported on stdout where the log went until now.
    static func openConfiguredFile(_ log: LogConfiguration, writer: LineWriter, logger: Logger) throws {
        guard let path = log.file else { return }
        do {
            try writer.open(file: path, mode: mode_t(log.fileMode))
        } catch {
            logger.error("cannot open the log file", metadata: ["log.file": "\(path)", "error": "\(error)"])
            throw ExitCode(1)
        }
    }

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sigusr1)
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                if try writer.reopen() {
                    logger.info("log file reopened", metadata: ["log.file": "\(writer.filePath ?? "")"])
                }
            } catch {
                // The lines keep going to the file the writer has (moved or not): none is lost.
                logger.error(
                    "cannot reopen the log file; still writing to the previous one", metadata: ["error": "\(error)"])
            }
        }
    }
}

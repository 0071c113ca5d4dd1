import ArgumentParser
import GatewayCore
import Logging
import Pipeline
import Server
import ServiceLifecycle
import Store
import Upstream

#if canImport(Glibc)
    import Glibc
#endif

/// `llmgw serve --config FILE`: runs the gateway until SIGTERM/SIGINT; SIGHUP re-reads the
/// config and the provider keys (`ConfigReloader`).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        ProcessHardening.ignoreSignalsUntilHandled()
        defer { ProcessHardening.flushLog() }
        let path = try options.path()
        let bootstrapLogger = Logger(label: "llmgw") { JSONLogHandler(label: $0) }
        let configuration: GatewayConfiguration
        let keys: [String: String]
        do {
            (configuration, keys) = try GatewayConfiguration.loadResolvingKeys(path)
        } catch {
            bootstrapLogger.error("invalid configuration", metadata: ["config": "\(path)", "errors": "\(error)"])
            throw ExitCode(1)
        }

        let level = Logger.Level(rawValue: configuration.log.level) ?? .info
        LineWriter.standardOutput.setCapacity(bytes: configuration.log.queueBytes)
        try LogFileReopener.openConfiguredFile(configuration.log, writer: .standardOutput, logger: bootstrapLogger)
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        let logger = Logger(label: "llmgw")
        if !configuration.log.coreDumps && !ProcessHardening.disableCoreDumps() {
            logger.warning("cannot turn core dumps off")
        }
        let state: SharedState
        let layout: SharedStateLayout
        do {
            (state, layout) = try await SharedStateFactory.open(configuration, logger: logger)
        } catch {
            logger.error(
                "cannot open the shared state", metadata: ["path": "\(configuration.state.path)", "error": "\(error)"])
            throw ExitCode(1)
        }
        // Only now, after the shared state accepted our PID: a supervisor started above passes the
        // socket-activation and notify variables on to its child unchanged.
        let inheritedSocket: InheritedSocket?
        do {
            inheritedSocket = try SocketActivation.takeListener(acceptedPIDs: Self.socketActivationPIDs())
        } catch {
            logger.error("cannot use the socket the service manager passed", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
        let notifier = ServiceManagerNotifier.fromEnvironment()
        let transport = CurlTransport(logger: Logger(label: "llmgw.upstream"))
        let pipeline = RequestPipeline(
            configuration: configuration,
            keyring: ProviderKeyring(keys),
            transport: transport,
            accessLog: JSONLinesAccessLog(),
            logger: logger,
            state: state,
            metrics: GatewayMetrics(configuration: configuration, logLines: .standardOutput)
        )
        let server = GatewayServer(
            configuration: configuration.listen, pipeline: pipeline, logger: logger, inheritedSocket: inheritedSocket,
            notifier: notifier)
        // The figures and probes on a listener of their own (`admin:`), when configured.
        let admin = configuration.admin.map {
            GatewayServer(
                configuration: $0.listenConfiguration(drainTimeout: configuration.listen.drainTimeout),
                pipeline: pipeline, logger: logger, role: .admin)
        }
        let reloader = ConfigReloader(configPath: path, pipeline: pipeline, logger: logger)
        for path in SharedStateFactory.looselyReadableFiles(configuration) {
            logger.warning(
                "state file is readable beyond state.mode: other local users may read cached answers and spend",
                metadata: ["file": "\(path)", "state.mode": "\(String(configuration.state.fileMode, radix: 8))"])
        }
        for note in layout.notes { logger.notice("shared state", metadata: ["note": "\(note)"]) }
        let registration = await SidecarRegistration.start(
            layout: layout, configPath: path, configuration: configuration, socketPath: inheritedSocket?.path,
            logger: logger)
        let sweeper = StateSweeper(
            layout: layout, cache: state.cache, responses: state.responses, semantic: state.semantic,
            usageRetention: configuration.state.usageRetention, logger: logger)
        logger.info(
            "starting",
            metadata: [
                "config": "\(path)", "providers": "\(configuration.providers.count)",
                "models": "\(configuration.models.count)",
            ]
        )
        // Shut down in reverse order: the server drains first while the transport still runs, and
        // the admin listener (figures, probes) stays up until the drain is over.
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: registration),  // first: unregistered last, once the drain is over
                    .init(service: transport), .init(service: reloader), .init(service: sweeper),
                    .init(service: LogFileReopener(writer: .standardOutput, logger: logger)),
                ] + (admin.map { [.init(service: $0)] } ?? []) + [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        do {
            try await group.run()
        } catch {
            logger.error("gateway stopped on an error", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}

extension Serve {
    /// The PIDs `LISTEN_PID` may name for this process: its own, and its parent's when it is the
    /// child of a `PIDSupervisor` (the supervisor was the process the service manager started).
    static func socketActivationPIDs() -> Set<Int32> {
        PIDSupervisor.isSupervisedChild ? [getpid(), getppid()] : [getpid()]
    }
}

import ArgumentParser
import Dispatch
import Foundation
import MockProvider

/// `llmgw-mock`: a fake provider API with fault injection, for tests, benchmarks and the offline demo.
/// Prints one JSON line when it listens; SIGTERM or SIGINT stops it (exit 0, socket file removed).
@main
struct MockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llmgw-mock",
        abstract: "A faithful fake LLM provider API with fault injection.",
        discussion: """
            Faults (--faults, POST /_mock/faults, or a model suffix such as gpt-4o#status=503x2) are ';'-separated:
              status=CODE[xN]  retry_after=S  delay=DUR  chunk_delay=DUR  stall=N  cut=N  reset[=N]
              error_event=N  p=FRACTION  seed=K      (DUR: 200ms, 2s, ...)
            Control: GET /_mock/stats, POST /_mock/faults (body = spec, empty clears), POST /_mock/reset.
            """
    )

    @Option(help: "Listen on this Unix socket path.")
    var socket: String?

    @Option(help: "Listen on this TCP port (0 picks one).")
    var port: Int?

    @Option(help: "TCP host to bind.")
    var host = "127.0.0.1"

    @Option(help: "Provider dialect: \(MockDialect.allCases.map(\.rawValue).joined(separator: ", ")).")
    var dialect = "openai"

    @Option(help: "Fault specification applied to every API request.")
    var faults = ""

    @Option(name: .customLong("api-key"), help: "Accept only this key (any bearer key otherwise).")
    var apiKey: String?

    @Option(help: "Event-loop threads.")
    var threads = 1

    @Flag(name: .customLong("gemini-lf"), help: "Gemini streams end events in \\n\\n instead of the observed CRLF.")
    var geminiLF = false

    @Option(
        name: .customLong("vertex-key-file"),
        help: "Vertex: make a service account whose JWTs /token accepts, and write its key file here.")
    var vertexKeyFile: String?

    @Option(name: .customLong("aws-access-key-id"), help: "Bedrock: the access key id SigV4 signatures must use.")
    var awsAccessKeyID: String?

    @Option(
        name: .customLong("aws-secret-access-key-env"),
        help: "Bedrock: the environment variable holding the secret access key signatures are verified with.")
    var awsSecretAccessKeyEnv = "LLMGW_MOCK_AWS_SECRET_ACCESS_KEY"

    @Option(name: .customLong("aws-session-token"), help: "Bedrock: the session token requests must carry (signed).")
    var awsSessionToken: String?

    @Option(name: .customLong("aws-region"), help: "Bedrock: the region signatures must be scoped to.")
    var awsRegion = "us-east-1"

    func validate() throws {
        if (socket == nil) == (port == nil) { throw ValidationError("give exactly one of --socket or --port") }
        if MockDialect(rawValue: dialect) == nil { throw ValidationError("unknown dialect '\(dialect)'") }
    }

    func run() async throws {
        var configuration = MockProviderConfiguration(
            dialect: MockDialect(rawValue: dialect) ?? .openai, faults: faults, apiKey: apiKey
        )
        configuration.threads = threads
        configuration.geminiCRLF = !geminiLF
        let serviceAccount = try vertexKeyFile.map { _ in try VertexMockServiceAccount.generate() }
        configuration.vertex.serviceAccount = serviceAccount
        if let awsAccessKeyID {
            guard let secret = ProcessInfo.processInfo.environment[awsSecretAccessKeyEnv], !secret.isEmpty else {
                throw ValidationError("--aws-access-key-id needs the secret in $\(awsSecretAccessKeyEnv)")
            }
            configuration.aws = MockAWSCredentials(
                accessKeyID: awsAccessKeyID, secretAccessKey: secret, sessionToken: awsSessionToken, region: awsRegion)
        }
        let address: MockListenAddress =
            if let socket { .unix(path: socket) } else { .tcp(host: host, port: port ?? 0) }
        let server: MockProviderServer
        do {
            server = try await MockProviderServer.start(configuration, on: address)
        } catch {
            throw ValidationError("cannot start: \(error)")
        }
        if let vertexKeyFile, let serviceAccount {
            let keyFile = serviceAccount.keyFile(
                project: configuration.vertex.project, tokenURI: server.baseURL + "/token")
            _ = FileManager.default.createFile(
                atPath: vertexKeyFile, contents: Data(keyFile.utf8), attributes: [.posixPermissions: 0o600])
        }
        var line = #"{"msg":"mock listening","dialect":"\#(dialect)","#
        if let path = server.socketPath {
            line += #""socket":\#(jsonString(path))"#
        } else {
            line += #""port":\#(server.port ?? 0)"#
        }
        line += #","base_url":\#(jsonString(server.baseURL))}"# + "\n"
        FileHandle.standardOutput.write(Data(line.utf8))

        await waitForTermination()
        try await server.shutdown()
    }

    private func jsonString(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])) ?? Data()
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }
}

/// Suspends until SIGTERM or SIGINT arrives.
func waitForTermination() async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let queue = DispatchQueue(label: "llmgw-mock.signals")
        let sources = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            return DispatchSource.makeSignalSource(signal: number, queue: queue)
        }
        let once = ResumeOnce(continuation, keep: sources)
        for source in sources {
            source.setEventHandler { once.resume() }
            source.resume()
        }
    }
}

/// Resumes the continuation on the first signal only; keeps the signal sources alive until then.
final class ResumeOnce: @unchecked Sendable {
    private var continuation: CheckedContinuation<Void, Never>?
    private let sources: [any DispatchSourceSignal]

    /// Only touched on the signal queue.
    init(_ continuation: CheckedContinuation<Void, Never>, keep sources: [any DispatchSourceSignal]) {
        self.continuation = continuation
        self.sources = sources
    }

    func resume() {
        continuation?.resume()
        continuation = nil
        sources.forEach { $0.cancel() }
    }
}

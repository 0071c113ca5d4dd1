import Foundation
import GatewayTesting
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking loopback TCP server for tests that need a peer misbehaving at the byte level (a
/// hostile provider, a CONNECT proxy). Each accepted connection runs `handle` on its own thread.
final class ScriptedTCPServer: Sendable {
    let port: Int
    private let listener: Int32
    private let stopped = SharedCounter()
    private let connectionCount = SharedCounter()

    /// Connections accepted so far.
    var connections: Int { connectionCount.value }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    init(handle: @escaping @Sendable (ScriptedConnection) -> Void) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        let bound = withLoopbackAddress(port: 0) { bind(listener, $0, $1) }
        guard bound == 0, listen(listener, 64) == 0 else {
            Glibc.close(listener)
            throw TestFailure("could not listen on 127.0.0.1: errno \(errno)")
        }
        port = boundPort(of: listener)
        Thread.detachNewThread { [stopped, connectionCount] in
            while stopped.value == 0 {
                let descriptor = accept(listener, nil, nil)
                guard descriptor >= 0 else {
                    if stopped.value != 0 || errno == EBADF || errno == EINVAL { return }
                    continue
                }
                connectionCount.increment()
                Thread.detachNewThread { handle(ScriptedConnection(descriptor: descriptor)) }
            }
        }
    }

    func stop() {
        stopped.increment()
        shutdown(listener, Int32(SHUT_RDWR))
        Glibc.close(listener)
    }
}

/// One accepted connection: blocking reads and writes (a `RawConnection`); reads and writes on a
/// gone peer end quietly.
final class ScriptedConnection: @unchecked Sendable {
    private let connection: RawConnection
    private var buffered: [UInt8] = []

    init(descriptor: Int32) {
        connection = RawConnection(descriptor: descriptor)
    }

    private init(_ connection: RawConnection) {
        self.connection = connection
    }

    /// Connects to 127.0.0.1:`port`.
    static func connect(loopbackPort port: Int) -> ScriptedConnection? {
        (try? RawConnection(.loopback(port: port))).map(ScriptedConnection.init)
    }

    /// The next bytes from the peer (first those left over by `readRequest`); empty at the end.
    func read() -> [UInt8] {
        if !buffered.isEmpty {
            defer { buffered = [] }
            return buffered
        }
        return (try? connection.read()) ?? []
    }

    /// Reads a request head (through the blank line) and, with `content-length`, its body.
    /// Returns the head's text, or nil when the peer closed first.
    func readRequest() -> (head: String, body: [UInt8])? {
        var bytes: [UInt8] = []
        let terminator = Array("\r\n\r\n".utf8)
        while true {
            if let end = bytes.firstRange(of: terminator) {
                let head = String(decoding: bytes[..<end.lowerBound], as: UTF8.self)
                var body = Array(bytes[end.upperBound...])
                let length =
                    head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                while body.count < length {
                    let more = read()
                    if more.isEmpty { return nil }
                    body += more
                }
                buffered = Array(body[min(length, body.count)...])
                return (head, Array(body.prefix(length)))
            }
            let more = read()
            if more.isEmpty { return nil }
            bytes += more
        }
    }

    @discardableResult
    func write(_ bytes: [UInt8]) -> Bool {
        (try? connection.write(bytes)) != nil
    }

    @discardableResult
    func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    /// Ends both directions without releasing the descriptor (safe while another thread reads).
    func shutdownBoth() {
        connection.shutdown()
    }

    func close() {
        connection.shutdown()
        connection.close()
    }
}

/// An HTTP proxy on loopback: `CONNECT host:port` is tunnelled (after a `200 Connection
/// established` head with a header of its own, which must never reach a client); a request in
/// absolute form is answered by the proxy itself with `hijackedBody`, as a hostile proxy would.
final class LoopbackProxy: Sendable {
    static let hijackedBody = #"{"hijacked":true}"#
    let server: ScriptedTCPServer
    private let tunnels = SharedCounter()
    private let forged = SharedCounter()
    var tunnelCount: Int { tunnels.value }
    var forgedCount: Int { forged.value }
    var url: String { server.baseURL }

    init() throws {
        let tunnels = self.tunnels
        let forged = self.forged
        server = try ScriptedTCPServer { client in
            guard let (head, _) = client.readRequest() else { return client.close() }
            let requestLine = head.split(separator: "\r\n").first.map(String.init) ?? ""
            let parts = requestLine.split(separator: " ")
            if parts.first == "CONNECT", parts.count >= 2, let port = Int(parts[1].split(separator: ":").last ?? ""),
                let upstream = ScriptedConnection.connect(loopbackPort: port)
            {
                tunnels.increment()
                client.write("HTTP/1.1 200 Connection established\r\nx-proxy-agent: llmgw-test-proxy\r\n\r\n")
                // Each direction ends by shutting the other down; descriptors close once, at the end.
                let done = DispatchSemaphore(value: 0)
                Thread.detachNewThread {
                    while case let bytes = upstream.read(), !bytes.isEmpty, client.write(bytes) {}
                    client.shutdownBoth()
                    done.signal()
                }
                while case let bytes = client.read(), !bytes.isEmpty, upstream.write(bytes) {}
                upstream.shutdownBoth()
                done.wait()
                upstream.close()
                client.close()
                return
            }
            forged.increment()
            let body = LoopbackProxy.hijackedBody
            client.write(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n"
                    + "connection: close\r\n\r\n\(body)")
            client.close()
        }
    }

    func stop() { server.stop() }
}

/// A counter shared between test threads.
final class SharedCounter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func increment() { count.add(1, ordering: .relaxed) }
}

import Foundation
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
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 64) == 0 else {
            Glibc.close(listener)
            throw UnixHTTPClient.Failure(description: "could not listen on 127.0.0.1: errno \(errno)")
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: actual.sin_port))
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

/// One accepted connection: blocking reads and writes; writes to a gone peer fail quietly.
final class ScriptedConnection: @unchecked Sendable {
    let descriptor: Int32
    private var buffered: [UInt8] = []

    init(descriptor: Int32) {
        self.descriptor = descriptor
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Connects to 127.0.0.1:`port`.
    static func connect(loopbackPort port: Int) -> ScriptedConnection? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let result = withLoopbackAddress(port: port) { Glibc.connect(descriptor, $0, $1) }
        guard result == 0 else {
            Glibc.close(descriptor)
            return nil
        }
        return ScriptedConnection(descriptor: descriptor)
    }

    /// The next bytes from the peer (first those left over by `readHead`); empty at the end.
    func read() -> [UInt8] {
        if !buffered.isEmpty {
            defer { buffered = [] }
            return buffered
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, $0.count, 0) }
        return count > 0 ? Array(buffer[..<count]) : []
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
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    @discardableResult
    func write(_ text: String) -> Bool { write(Array(text.utf8)) }

    /// Ends both directions without releasing the descriptor (safe while another thread reads).
    func shutdownBoth() {
        shutdown(descriptor, Int32(SHUT_RDWR))
    }

    func close() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        Glibc.close(descriptor)
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

import Dispatch
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A deliberately small HTTP/1.1 client over a Unix socket for end-to-end tests. Blocking socket
/// calls run on GCD threads, never on Swift's cooperative pool.
struct UnixHTTPClient: Sendable {
    let socketPath: String
    /// When set, connect to 127.0.0.1 on this port instead of the Unix socket.
    var tcpPort: Int? = nil

    struct Response: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]

        func header(_ name: String) -> String? {
            headers.first { $0.name == name.lowercased() }?.value
        }

        var text: String { String(decoding: body, as: UTF8.self) }

        func json() throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] ?? [:]
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func post(_ path: String, json: String, headers: [(String, String)] = []) async throws -> Response {
        try await send("POST", path, headers: [("content-type", "application/json")] + headers, body: Array(json.utf8))
    }

    func get(_ path: String) async throws -> Response {
        try await send("GET", path, headers: [], body: [])
    }

    /// Sends one request on a new connection (`connection: close`) and reads the whole response.
    func send(_ method: String, _ path: String, headers: [(String, String)], body: [UInt8]) async throws -> Response {
        try Self.parse(try await sendAndHangUp(method, path, headers: headers, body: body) { _ in false })
    }

    /// Sends a request and reads the response head plus body bytes until `stopAfter` returns true
    /// for the body received so far (or the server ends it); then closes the connection.
    func sendAndHangUp(
        _ method: String,
        _ path: String,
        headers: [(String, String)],
        body: [UInt8],
        stopAfter: @escaping @Sendable ([UInt8]) -> Bool
    ) async throws -> [UInt8] {
        let socketPath = self.socketPath
        let tcpPort = self.tcpPort
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    let connection =
                        try tcpPort.map { try RawConnection(loopbackPort: $0) } ?? RawConnection(path: socketPath)
                    defer { connection.close() }
                    try connection.write(Self.requestBytes(method, path, headers: headers, body: body))
                    var all: [UInt8] = []
                    while let chunk = try connection.read(), !chunk.isEmpty {
                        all += chunk
                        if stopAfter(all) { break }
                    }
                    continuation.resume(returning: all)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    static func requestBytes(_ method: String, _ path: String, headers: [(String, String)], body: [UInt8]) -> [UInt8] {
        var head = "\(method) \(path) HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if method != "GET" || !body.isEmpty { head += "content-length: \(body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + body
    }

    static func parse(_ raw: [UInt8]) throws -> Response {
        guard let headEnd = raw.firstRange(of: Array("\r\n\r\n".utf8)) else {
            throw Failure(description: "no response head in \(raw.count) bytes")
        }
        let headText = String(decoding: raw[..<headEnd.lowerBound], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw Failure(description: "bad status line")
        }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var body = Array(raw[headEnd.upperBound...])
        if headers.contains(where: { $0.name == "transfer-encoding" && $0.value.lowercased() == "chunked" }) {
            body = try dechunk(body)
        }
        return Response(status: status, headers: headers, body: body)
    }

    static func dechunk(_ data: [UInt8]) throws -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < data.count {
            guard let lineEnd = data[index...].firstRange(of: Array("\r\n".utf8)) else { break }
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";")[0], radix: 16) else {
                throw Failure(description: "bad chunk size \(sizeText)")
            }
            index = lineEnd.upperBound
            if size == 0 { break }
            guard index + size <= data.count else { output += data[index...]; break }
            output += data[index..<(index + size)]
            index += size + 2
        }
        return output
    }
}

/// A blocking Unix-socket connection.
final class RawConnection: @unchecked Sendable {
    private let descriptor: Int32

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            Glibc.close(descriptor)
            throw UnixHTTPClient.Failure(description: "connect \(path): errno \(errno)")
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    init(loopbackPort port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let result = withLoopbackAddress(port: port) { connect(descriptor, $0, $1) }
        guard result == 0 else {
            Glibc.close(descriptor)
            throw UnixHTTPClient.Failure(description: "connect 127.0.0.1:\(port): errno \(errno)")
        }
    }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { throw UnixHTTPClient.Failure(description: "write failed: errno \(errno)") }
            offset += written
        }
    }

    /// The next bytes, an empty array at end of stream.
    func read() throws -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, $0.count, 0) }
        if count < 0 {
            if errno == ECONNRESET { return [] }
            throw UnixHTTPClient.Failure(description: "read failed: errno \(errno)")
        }
        return Array(buffer[..<count])
    }

    func close() {
        Glibc.close(descriptor)
    }

    /// Everything until the server closes the connection (or `seconds` of silence).
    func readToEnd(timeoutSeconds seconds: Int = 30) throws -> [UInt8] {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var all: [UInt8] = []
        while let chunk = try read(), !chunk.isEmpty { all += chunk }
        return all
    }

    /// Closes with a reset (RST) instead of an orderly shutdown.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        Glibc.close(descriptor)
    }
}

/// Calls `body` with the socket address of 127.0.0.1:`port`.
func withLoopbackAddress<T>(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

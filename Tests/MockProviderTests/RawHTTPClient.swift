import Foundation
import MockProvider
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A deliberately small blocking HTTP/1.1 client over a real socket, so tests see exactly the bytes the
/// mock sends, including streams cut, stalled or reset half-way. Runs on its own thread.
final class RawConnection: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    enum Ending: Equatable {
        /// The response ended as HTTP says (content-length reached, or the chunked terminator).
        case complete
        /// The peer closed the connection before the end.
        case closed
        /// The peer reset the connection.
        case reset
        /// Nothing arrived within the read timeout.
        case timedOut
    }

    struct Response {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        var ending: Ending
        var chunked: Bool

        var text: String { String(decoding: body, as: UTF8.self) }

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
                throw Failure(description: "body is not a JSON object: \(text)")
            }
            return object
        }
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    init(server: MockProviderServer, readTimeout: Double = 5) throws {
        if let path = server.socketPath {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard result == 0 else { throw Failure(description: "connect \(path): errno \(errno)") }
        } else {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(server.port ?? 0).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard result == 0 else { throw Failure(description: "connect: errno \(errno)") }
        }
        var timeout = timeval(tv_sec: Int(readTimeout), tv_usec: Int((readTimeout - Double(Int(readTimeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close() }

    private var closed = false

    func close() {
        if !closed { _ = Glibc.close(fd) }
        closed = true
    }

    func send(
        _ method: String, _ path: String, body: String? = nil, key: String? = "sk-test",
        headers: [(String, String)] = []
    ) throws {
        var request = "\(method) \(path) HTTP/1.1\r\nhost: localhost\r\n"
        if let key { request += "authorization: Bearer \(key)\r\n" }
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        if let body { request += "content-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n" }
        request += "\r\n" + (body ?? "")
        let bytes = Array(request.utf8)
        let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == bytes.count else { throw Failure(description: "send failed: errno \(errno)") }
    }

    func sendRaw(_ text: String) throws {
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == bytes.count else { throw Failure(description: "send failed: errno \(errno)") }
    }

    /// Reads more bytes into the buffer; nil with the reason when nothing more comes.
    private func fill() -> Ending? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            buffer += chunk[0..<count]
            return nil
        }
        if count == 0 { return .closed }
        if errno == ECONNRESET { return .reset }
        return .timedOut
    }

    /// Reads one response. `until` may stop a body early (it sees the body so far); the connection stays open.
    func readResponse(until: (([UInt8]) -> Bool)? = nil) throws -> Response {
        while true {
            if let end = headerEnd() {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                return try readBody(head: head, until: until)
            }
            if let ending = fill() {
                if ending == .reset {
                    return Response(status: 0, headers: [], body: [], ending: .reset, chunked: false)
                }
                throw Failure(description: "no response head (\(ending))")
            }
        }
    }

    private func headerEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for index in 0...(buffer.count - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return nil
    }

    private func readBody(head: String, until: (([UInt8]) -> Bool)?) throws -> Response {
        let lines = head.components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = Response(status: status, headers: headers, body: [], ending: .complete, chunked: false)
        if (100..<200).contains(status) { return response }
        if let length = response.header("content-length").flatMap(Int.init) {
            while buffer.count < length {
                if let ending = fill() {
                    response.ending = ending
                    break
                }
            }
            response.body = Array(buffer.prefix(length))
            buffer.removeFirst(min(length, buffer.count))
            return response
        }
        response.chunked = response.header("transfer-encoding")?.lowercased() == "chunked"
        guard response.chunked else { throw Failure(description: "neither content-length nor chunked") }
        while true {
            if let until, until(response.body) { return response }
            // One chunk: size line, data, CRLF.
            if let lineEnd = crlf(from: 0) {
                let size = Int(String(decoding: buffer[0..<lineEnd], as: UTF8.self), radix: 16) ?? 0
                if buffer.count >= lineEnd + 2 + size + 2 {
                    response.body += buffer[(lineEnd + 2)..<(lineEnd + 2 + size)]
                    buffer.removeFirst(lineEnd + 2 + size + 2)
                    if size == 0 { return response }
                    continue
                }
            }
            if let ending = fill() {
                response.ending = ending
                return response
            }
        }
    }

    private func crlf(from start: Int) -> Int? {
        guard buffer.count >= start + 2 else { return nil }
        for index in start..<(buffer.count - 1) where buffer[index] == 13 && buffer[index + 1] == 10 { return index }
        return nil
    }
}

/// Runs blocking socket work on its own thread, off Swift's cooperative pool.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// One request on a fresh connection.
func exchange(
    _ server: MockProviderServer, _ method: String, _ path: String, body: String? = nil, key: String? = "sk-test",
    headers: [(String, String)] = [], readTimeout: Double = 5
) async throws -> RawConnection.Response {
    try await blocking {
        let connection = try RawConnection(server: server, readTimeout: readTimeout)
        try connection.send(method, path, body: body, key: key, headers: headers)
        return try connection.readResponse()
    }
}

/// `data: ` payloads of an SSE body, in order.
func events(_ text: String) -> [String] {
    text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map {
        $0.hasPrefix("data: ") ? String($0.dropFirst(6)) : $0
    }
}

func chatBody(
    _ text: String = "Hello there", model: String = "gpt-4o-mini", stream: Bool = false, includeUsage: Bool? = nil,
    extra: String = ""
) -> String {
    var body = #"{"model":"\#(model)","messages":[{"role":"user","content":"\#(text)"}]"#
    if stream { body += #","stream":true"# }
    if let includeUsage { body += #","stream_options":{"include_usage":\#(includeUsage)}"# }
    return body + extra + "}"
}

func parse(_ json: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
}

/// Starts a mock on loopback TCP (or a Unix socket), runs `body`, and always shuts it down.
@discardableResult
func withMock<T>(
    faults: String = "", apiKey: String? = "sk-test", unix: Bool = false,
    _ body: (MockProviderServer) async throws -> T
) async throws -> T {
    let address: MockListenAddress =
        unix
        ? .unix(path: FileManager.default.temporaryDirectory.path + "/mock-\(UUID().uuidString.prefix(8)).sock")
        : .tcp(host: "127.0.0.1", port: 0)
    let server = try await MockProviderServer.start(
        MockProviderConfiguration(faults: faults, apiKey: apiKey), on: address
    )
    do {
        let result = try await body(server)
        try await server.shutdown()
        return result
    } catch {
        try? await server.shutdown()
        throw error
    }
}

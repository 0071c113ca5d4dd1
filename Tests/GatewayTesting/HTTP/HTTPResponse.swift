import Foundation

/// One HTTP response as it came off the wire. Header names are lower-cased.
public struct HTTPResponse: Sendable {
    /// How the body ended.
    public enum Ending: Equatable, Sendable {
        /// As HTTP says: `content-length` reached, the chunked terminator, or (for a response with
        /// neither) the peer's close.
        case complete
        /// The peer closed the connection before the end.
        case closed
        /// The peer reset the connection.
        case reset
        /// Nothing arrived within the read timeout.
        case timedOut
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var ending: Ending
    /// The body came with chunked transfer encoding.
    public var chunked: Bool

    public init(
        status: Int, headers: [(name: String, value: String)], body: [UInt8], ending: Ending = .complete,
        chunked: Bool = false
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.ending = ending
        self.chunked = chunked
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        let name = name.lowercased()
        return headers.first { $0.name == name }?.value
    }

    /// The body as a JSON object; throws when it is not one.
    public func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw TestFailure("body is not a JSON object: \(text.prefix(500))")
        }
        return object
    }

    /// The first final (non-1xx) response in `raw`, the bytes of a connection read to its end.
    public static func parse(_ raw: [UInt8]) throws -> HTTPResponse {
        guard let response = try responses(in: raw).first else {
            throw TestFailure("no response head in \(raw.count) bytes")
        }
        return response
    }

    /// Every final (non-1xx) response in `raw`, in order (pipelined answers on one connection).
    public static func responses(in raw: [UInt8]) throws -> [HTTPResponse] {
        var reader = HTTPResponseReader(buffer: raw)
        var result: [HTTPResponse] = []
        while reader.hasHead, let response = try reader.next(fill: { .closed }) {
            if response.status >= 200 { result.append(response) }
        }
        return result
    }
}

/// Reads responses from a buffer that `fill` tops up: a socket, or bytes already read to the end.
struct HTTPResponseReader {
    var buffer: [UInt8]
    private static let headEnd = Array("\r\n\r\n".utf8)
    private static let lineEnd = Array("\r\n".utf8)

    /// A whole response head is in the buffer.
    var hasHead: Bool { buffer.firstRange(of: Self.headEnd) != nil }

    /// The next response; nil when the peer ended (or reset) before any of a head.
    mutating func next(
        until: (([UInt8]) -> Bool)? = nil,
        fill: () throws -> RawConnection.Received
    ) throws -> HTTPResponse? {
        var ending: HTTPResponse.Ending?
        /// Adds to the buffer; false (with `ending` set) when nothing more comes.
        func more() throws -> Bool {
            switch try fill() {
            case .bytes(let bytes):
                buffer += bytes
                return true
            case .closed: ending = .closed
            case .reset: ending = .reset
            case .timedOut: ending = .timedOut
            }
            return false
        }
        var headRange = buffer.firstRange(of: Self.headEnd)
        while headRange == nil {
            guard try more() else {
                if buffer.isEmpty || ending == .reset {
                    return ending == .reset ? HTTPResponse(status: 0, headers: [], body: [], ending: .reset) : nil
                }
                throw TestFailure("no response head (\(ending.map { "\($0)" } ?? "")) in \(buffer.count) bytes")
            }
            headRange = buffer.firstRange(of: Self.headEnd)
        }
        let head = String(decoding: buffer[..<headRange!.lowerBound], as: UTF8.self)
        buffer.removeFirst(headRange!.upperBound)
        var response = try Self.parseHead(head)
        let status = response.status
        if (100..<200).contains(status) || status == 204 || status == 304 { return response }
        if let length = response.header("content-length").flatMap(Int.init) {
            while buffer.count < length, try more() {}
            response.body = Array(buffer.prefix(length))
            buffer.removeFirst(min(length, buffer.count))
            if response.body.count < length { response.ending = ending ?? .closed }
            return response
        }
        response.chunked = response.header("transfer-encoding")?.lowercased() == "chunked"
        guard response.chunked else {
            // Neither framing: the body ends with the connection (HTTP/1.0, a close-delimited body).
            while try more() {}
            response.body = buffer
            buffer = []
            if ending != .closed { response.ending = ending ?? .closed }
            return response
        }
        while true {
            if let until, until(response.body) { return response }
            if let line = buffer.firstRange(of: Self.lineEnd) {
                let sizeText = String(decoding: buffer[..<line.lowerBound], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16), size >= 0 else {
                    throw TestFailure("bad chunk size \(sizeText)")
                }
                let dataEnd = line.upperBound + size
                if size == 0 {
                    // The terminator; a trailer-less response ends with one more CRLF.
                    buffer.removeFirst(min(buffer.count, dataEnd + 2))
                    return response
                }
                if buffer.count >= dataEnd + 2 {
                    response.body += buffer[line.upperBound..<dataEnd]
                    buffer.removeFirst(dataEnd + 2)
                    continue
                }
            }
            guard try more() else {
                // Cut mid-body: keep what arrived of the last chunk.
                if let line = buffer.firstRange(of: Self.lineEnd) { response.body += buffer[line.upperBound...] }
                buffer = []
                response.ending = ending ?? .closed
                return response
            }
        }
    }

    private static func parseHead(_ head: String) throws -> HTTPResponse {
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw TestFailure("bad status line in \(head.prefix(200))")
        }
        let headers = lines.compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return HTTPResponse(status: status, headers: headers, body: [])
    }
}

/// The bytes of one HTTP/1.1 request. `body` nil sends no `content-length`; `close` asks the peer
/// to close after answering.
public func httpRequestBytes(
    _ method: String, _ path: String, headers: [(String, String)], body: [UInt8]?, close: Bool = false
) -> [UInt8] {
    var head = "\(method) \(path) HTTP/1.1\r\nhost: localhost\r\n"
    if close { head += "connection: close\r\n" }
    for (name, value) in headers { head += "\(name): \(value)\r\n" }
    if let body { head += "content-length: \(body.count)\r\n" }
    head += "\r\n"
    return Array(head.utf8) + (body ?? [])
}

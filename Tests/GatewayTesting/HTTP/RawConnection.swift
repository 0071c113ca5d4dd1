#if canImport(Glibc)
    import Glibc
#endif

/// Where a test connects: a Unix socket, or 127.0.0.1 on a port. Tests never leave loopback.
public enum TestEndpoint: Sendable, Equatable, CustomStringConvertible {
    case unix(String)
    case loopback(port: Int)

    public var description: String {
        switch self {
        case .unix(let path): path
        case .loopback(let port): "127.0.0.1:\(port)"
        }
    }
}

/// A deliberately small blocking socket connection, so tests see exactly the bytes a peer sends
/// (streams cut, stalled or reset half-way) and can send exactly the bytes they mean (hostile
/// input, one byte at a time, a reset). Use it from one thread at a time, off Swift's cooperative
/// pool (`blocking`); reading on one thread while another writes is fine.
public final class RawConnection: @unchecked Sendable {
    /// What one `receive` got.
    public enum Received: Equatable, Sendable {
        case bytes([UInt8])
        /// The peer closed its side.
        case closed
        /// The peer reset the connection.
        case reset
        /// Nothing arrived within the read timeout.
        case timedOut
    }

    private let descriptor: Int32
    private var closed = false
    /// Bytes received but not yet handed out (what `readResponse` read past its response).
    var buffer: [UInt8] = []

    /// Connects to `endpoint`; reads give up after `readTimeout` seconds of silence.
    public init(_ endpoint: TestEndpoint, readTimeout: Double = 30) throws {
        let connect = { (descriptor: Int32, address: UnsafePointer<sockaddr>, length: socklen_t) in
            Glibc.connect(descriptor, address, length)
        }
        let result: Int32
        switch endpoint {
        case .unix(let path):
            descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            result = withUnixAddress(path: path) { [descriptor] in connect(descriptor, $0, $1) }
        case .loopback(let port):
            descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            result = withLoopbackAddress(port: port) { [descriptor] in connect(descriptor, $0, $1) }
        }
        guard result == 0 else {
            let error = errno
            // Through `close()`: the object is whole, so its deinit runs after the throw and must
            // not close the number again (another thread may own it by then).
            close()
            throw TestFailure("connect \(endpoint): errno \(error)")
        }
        setReadTimeout(seconds: readTimeout)
    }

    /// Adopts a connected descriptor (one a listener accepted).
    public init(descriptor: Int32, readTimeout: Double = 30) {
        self.descriptor = descriptor
        setReadTimeout(seconds: readTimeout)
    }

    deinit { close() }

    public func setReadTimeout(seconds: Double) {
        var timeout = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes all of `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { throw TestFailure("write failed: errno \(errno)") }
            offset += written
        }
    }

    public func write(_ text: String) throws {
        try write(Array(text.utf8))
    }

    /// The next bytes from the peer (first any left over by `readResponse`), or how the read ended.
    public func receive() throws -> Received {
        if !buffer.isEmpty {
            defer { buffer = [] }
            return .bytes(buffer)
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, $0.count, 0) }
            if count > 0 { return .bytes(Array(chunk[..<count])) }
            if count == 0 { return .closed }
            switch errno {
            case EINTR: continue
            case ECONNRESET: return .reset
            case EAGAIN, EWOULDBLOCK: return .timedOut
            default: throw TestFailure("read failed: errno \(errno)")
            }
        }
    }

    /// The next bytes; empty at the end of the stream (closed or reset). A read timeout throws.
    public func read() throws -> [UInt8] {
        switch try receive() {
        case .bytes(let bytes): return bytes
        case .closed, .reset: return []
        case .timedOut: throw TestFailure("read timed out")
        }
    }

    /// Everything until the peer closes the connection (or `seconds` of silence, which throws).
    public func readToEnd(timeoutSeconds seconds: Double = 30) throws -> [UInt8] {
        setReadTimeout(seconds: seconds)
        var all: [UInt8] = []
        while case let chunk = try read(), !chunk.isEmpty { all += chunk }
        return all
    }

    /// Reads one response, keeping the connection open for the next. `until` may stop a chunked
    /// body early (it sees the body so far).
    public func readResponse(until: (([UInt8]) -> Bool)? = nil) throws -> HTTPResponse {
        var reader = HTTPResponseReader(buffer: buffer)
        defer { buffer = reader.buffer }
        guard let response = try reader.next(until: until, fill: receive) else {
            throw TestFailure("no response head")
        }
        return response
    }

    /// Ends both directions without releasing the descriptor (safe while another thread reads).
    public func shutdown() {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// Closes with a reset (RST) instead of an orderly shutdown.
    public func reset() {
        guard !closed else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close()
    }

    /// Closes the descriptor; later calls do nothing.
    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(descriptor)
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Calls `body` with the socket address of 127.0.0.1:`port` (0: any free port, for `bind`).
public func withLoopbackAddress<T>(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

/// Calls `body` with the socket address of the Unix socket at `path` (at most 107 bytes).
public func withUnixAddress<T>(path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[index] = byte }
        raw[min(path.utf8.count, raw.count - 1)] = 0
    }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}

/// The local port a bound IPv4 socket got.
public func boundPort(of descriptor: Int32) -> Int {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A TCP port on 127.0.0.1 that was free a moment ago, outside the ephemeral range (32768–60999 on
/// Linux) where other tests' port-0 binds and outgoing connections could take it in between.
public func freeLoopbackPort() throws -> Int {
    for _ in 0..<100 {
        let port = Int.random(in: 20000..<30000)
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        let bound = withLoopbackAddress(port: port) { bind(descriptor, $0, $1) == 0 }
        if bound { return port }
    }
    throw TestFailure("no free port between 20000 and 30000")
}

/// Runs blocking work (socket reads, waiting for a process) on a thread of its own, never on
/// Swift's cooperative pool, whose few threads every other test shares.
public func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

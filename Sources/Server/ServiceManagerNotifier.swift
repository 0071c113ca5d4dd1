#if canImport(Glibc)
    import Glibc
#endif

/// Tells the service manager how the gateway is doing (systemd's `sd_notify(3)` protocol, for
/// `Type=notify` units): `READY=1` once it serves, `STOPPING=1` when it starts draining.
///
/// `NOTIFY_SOCKET` names an `AF_UNIX` datagram socket: a path, or an abstract name written with a
/// leading `@`. Each message is one datagram of `KEY=value` lines, sent without blocking; a lost
/// message never stops the gateway (systemd then times the start out and says so).
public final class ServiceManagerNotifier: Sendable {
    /// The socket address and its length (an abstract name's length counts no terminator).
    private let address: sockaddr_un
    private let addressLength: socklen_t
    /// `NOTIFY_SOCKET` as given, for the log.
    public let socketName: String

    /// A notifier for `notifySocket` (a path or `@abstract`), or nil when it names no Unix socket
    /// (empty, too long for `sun_path`, or another transport such as `vsock:`).
    public init?(notifySocket: String) {
        var bytes = Array(notifySocket.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        guard abstract || bytes.first == UInt8(ascii: "/"), bytes.count > 1 else { return nil }
        if abstract { bytes[0] = 0 }  // the abstract namespace: a leading NUL, no terminator
        var storage = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard bytes.count < capacity else { return nil }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { raw in
            raw.copyBytes(from: bytes)
            if !abstract { raw[bytes.count] = 0 }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
        let length = pathOffset + bytes.count + (abstract ? 0 : 1)
        address = storage
        addressLength = socklen_t(length)
        socketName = notifySocket
    }

    /// The notifier `NOTIFY_SOCKET` asks for, or nil when it is not set (not run by a service
    /// manager that listens) or unusable. The variable is unset, so that nothing the gateway starts
    /// sends in its name.
    public static func fromEnvironment() -> ServiceManagerNotifier? {
        guard let value = getenv("NOTIFY_SOCKET") else { return nil }
        let name = String(cString: value)
        unsetenv("NOTIFY_SOCKET")
        return ServiceManagerNotifier(notifySocket: name)
    }

    /// Serving: the unit is started. `status` is shown by `systemctl status`.
    @discardableResult
    public func ready(status: String) -> Bool {
        send("READY=1\nSTATUS=\(status)")
    }

    /// Draining: the unit is stopping.
    @discardableResult
    public func stopping(status: String) -> Bool {
        send("STOPPING=1\nSTATUS=\(status)")
    }

    /// Sends `message` (newline-separated `KEY=value` assignments) as one datagram; true when it
    /// was sent.
    @discardableResult
    public func send(_ message: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let payload = Array(message.utf8)
        let length = addressLength
        let sent = withUnsafePointer(to: address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { target in
                payload.withUnsafeBytes { body in
                    sendto(
                        descriptor, body.baseAddress, body.count, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL), target,
                        length)
                }
            }
        }
        return sent == payload.count
    }
}

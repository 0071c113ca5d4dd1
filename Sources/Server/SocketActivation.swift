#if canImport(Glibc)
    import Glibc
#endif

/// A listening Unix stream socket handed to the gateway by its service manager (systemd socket
/// activation) instead of one it binds itself.
public struct InheritedSocket: Sendable, Equatable {
    /// The descriptor, from 3 up (`SD_LISTEN_FDS_START`).
    public let descriptor: Int32
    /// Its name in `LISTEN_FDNAMES` (systemd's `FileDescriptorName=`, by default the socket unit's name).
    public let name: String?
    /// The path the socket is bound to (`@name` for an abstract one), for the log.
    public let path: String

    public init(descriptor: Int32, name: String?, path: String) {
        self.descriptor = descriptor
        self.name = name
        self.path = path
    }
}

/// Systemd's socket-activation protocol (`sd_listen_fds(3)`), read once at start.
///
/// The service manager passes `LISTEN_FDS` descriptors from 3 up, `LISTEN_PID` (the process they
/// are meant for: a variable inherited by some other process must not make it take descriptors
/// that are not its own) and, optionally, `LISTEN_FDNAMES` (colon-separated names). The gateway
/// serves on one of them: the only one, or the one named `llmgw` when there are several. It must be
/// a listening `AF_UNIX` stream socket; anything else is an error, not a silent fallback to binding.
///
/// Taking the socket unsets the three variables and marks every passed descriptor close-on-exec,
/// so nothing the gateway starts inherits them.
public enum SocketActivation {
    /// The variables of the protocol.
    public static let variables = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"]
    /// The first passed descriptor (`SD_LISTEN_FDS_START`).
    public static let firstDescriptor: Int32 = 3
    /// The name that picks the gateway's socket among several.
    public static let preferredName = "llmgw"

    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// The descriptors the environment passes to a process with a PID in `acceptedPIDs`, with their
    /// names; nil when no descriptors are passed to it (no `LISTEN_FDS`, or another process's).
    public static func passedDescriptors(
        in environment: [String: String], acceptedPIDs: Set<Int32>
    ) throws(Failure) -> [(descriptor: Int32, name: String?)]? {
        guard let countText = environment["LISTEN_FDS"] else { return nil }
        guard let pidText = environment["LISTEN_PID"], let pid = Int32(pidText) else {
            throw Failure(description: "LISTEN_FDS is set without a valid LISTEN_PID")
        }
        guard acceptedPIDs.contains(pid) else { return nil }
        guard let count = Int32(countText), count >= 0, count <= 1024 else {
            throw Failure(description: "LISTEN_FDS is not a count of descriptors: \(countText)")
        }
        guard count > 0 else { return nil }
        let names = environment["LISTEN_FDNAMES"].map { $0.split(separator: ":", omittingEmptySubsequences: false) }
        if let names, names.count != Int(count) {
            throw Failure(description: "LISTEN_FDNAMES names \(names.count) descriptors, LISTEN_FDS passes \(count)")
        }
        return (0..<count).map { index in
            (firstDescriptor + index, names.map { String($0[Int(index)]) })
        }
    }

    /// The descriptor the gateway serves on among `passed`: the only one, or the one named
    /// `llmgw`.
    public static func chooseListener(
        _ passed: [(descriptor: Int32, name: String?)]
    ) throws(Failure) -> (descriptor: Int32, name: String?) {
        if passed.count == 1 { return passed[0] }
        let named = passed.filter { $0.name == preferredName }
        guard named.count == 1 else {
            let names = passed.map { $0.name ?? "?" }.joined(separator: ", ")
            throw Failure(
                description:
                    "the service manager passed \(passed.count) sockets (\(names)); name the gateway's "
                    + "FileDescriptorName=\(preferredName)")
        }
        return named[0]
    }

    /// Takes the socket the service manager passed to this process (see the type's comment), or
    /// nil when none was passed. `acceptedPIDs` holds this process's PID, and its parent's when a
    /// supervisor that was itself the intended process started it.
    public static func takeListener(acceptedPIDs: Set<Int32>) throws(Failure) -> InheritedSocket? {
        var environment: [String: String] = [:]
        for name in variables {
            if let value = getenv(name) { environment[name] = String(cString: value) }
        }
        guard let passed = try passedDescriptors(in: environment, acceptedPIDs: acceptedPIDs) else {
            if environment["LISTEN_FDS"] != nil { unsetVariables() }  // another process's: never ours
            return nil
        }
        unsetVariables()
        for (descriptor, _) in passed {
            let flags = fcntl(descriptor, F_GETFD)
            if flags >= 0 { _ = fcntl(descriptor, F_SETFD, flags | FD_CLOEXEC) }
        }
        let chosen = try chooseListener(passed)
        let path = try checkListeningUnixStream(chosen.descriptor)
        return InheritedSocket(descriptor: chosen.descriptor, name: chosen.name, path: path)
    }

    private static func unsetVariables() {
        for name in variables { unsetenv(name) }
    }

    /// Checks that `descriptor` is a listening Unix stream socket; returns the path it is bound to.
    static func checkListeningUnixStream(_ descriptor: Int32) throws(Failure) -> String {
        let label = "the inherited descriptor \(descriptor)"
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw Failure(description: "\(label) is not open: \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else { throw Failure(description: "\(label) is not a socket") }
        guard integerOption(descriptor, SO_DOMAIN) == AF_UNIX else {
            throw Failure(description: "\(label) is not a Unix socket (llmgw's TCP listener is `listen.tcp`)")
        }
        guard integerOption(descriptor, SO_TYPE) == Int32(SOCK_STREAM.rawValue) else {
            throw Failure(description: "\(label) is not a stream socket (ListenStream=, not ListenDatagram=)")
        }
        guard integerOption(descriptor, SO_ACCEPTCONN) == 1 else {
            throw Failure(description: "\(label) is not listening (use Accept=no in the socket unit)")
        }
        return boundPath(descriptor) ?? "(unnamed)"
    }

    private static func integerOption(_ descriptor: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(descriptor, SOL_SOCKET, name, &value, &length) == 0 ? value : nil
    }

    /// The path of a bound Unix socket, `@name` for an abstract one.
    private static func boundPath(_ descriptor: Int32) -> String? {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let status = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
        guard status == 0, Int(length) > pathOffset else { return nil }
        let bytes = withUnsafeBytes(of: address.sun_path) { Array($0.prefix(Int(length) - pathOffset)) }
        if bytes.first == 0 { return "@" + String(decoding: bytes.dropFirst(), as: UTF8.self) }
        return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }
}

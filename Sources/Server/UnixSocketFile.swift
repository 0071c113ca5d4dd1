import GatewayCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The gateway's claim on its socket path, held for as long as it listens there.
///
/// - `claim` makes the directory and takes an exclusive `flock` on `PATH.lock` beside the socket:
///   of two gateways started on one path, exactly one gets it; the other stops with an error. With
///   the lock held, a socket left at the path is stale (a crashed gateway's) and is replaced, unless
///   some other program answers on it; a file that is not a socket is never touched.
/// - `bind` creates the socket with its final mode (the umask is narrowed around `bind`, so there
///   is no moment with wider permissions) and group, and records the file's device and inode.
/// - `release` (at the start of a drain, and at exit) removes the socket only if the path still holds
///   the file this process bound, then drops the lock, so a successor may start while this process
///   finishes its last responses, and its socket is never deleted by the predecessor's exit.
///
/// The lock file stays (removing it would let two starts lock two different files). NIO itself
/// unlinks a Unix listener's path when the listener closes; the server releases the claim only
/// after that close has completed.
final class UnixSocketFile: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private struct Claim {
        var lockDescriptor: Int32
        /// Device, inode and change time of the socket this process bound (the change time tells a
        /// successor's socket from ours when the file system reuses the inode number at once).
        var bound: FileIdentity?
    }

    let path: String
    private let claim: Mutex<Claim?>

    private init(path: String, lockDescriptor: Int32) {
        self.path = path
        self.claim = Mutex(Claim(lockDescriptor: lockDescriptor, bound: nil))
    }

    var lockPath: String { Self.lockPath(for: path) }

    static func lockPath(for path: String) -> String { path + ".lock" }

    /// Takes the path for this process (see the type's comment).
    static func claim(_ path: String) throws -> UnixSocketFile {
        try makeParentDirectory(of: path)
        let lock = lockPath(for: path)
        let descriptor = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot open the lock file \(lock): \(errorText())")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let busy = errno == EWOULDBLOCK
            let text = errorText()
            close(descriptor)
            throw Failure(
                description: busy
                    ? "another llmgw is already listening on \(path) (it holds \(lock)); refusing to start"
                    : "cannot lock \(lock): \(text)"
            )
        }
        do {
            try removeStaleSocket(path)
        } catch {
            close(descriptor)
            throw error
        }
        return UnixSocketFile(path: path, lockDescriptor: descriptor)
    }

    /// Runs `bindSocket` (which must create the socket at `path`) so that the file is born with no
    /// more permissions than `mode` allows, then gives it `group` and exactly `mode`.
    func bind<T>(mode: UInt32, group: String?, _ bindSocket: () async throws -> T) async throws -> T {
        let gid = try group.map(Self.groupID)
        // While the group is still the process's own, only the owner may connect.
        let initial = gid == nil ? mode : mode & 0o700
        // The umask is the process's: two binds at once (a Unix and a TCP listener, parallel tests)
        // would each see the other's.
        await Self.umaskTurn.acquire()
        let previous = umask(mode_t(0o777 & ~initial))
        let result: T
        do {
            result = try await bindSocket()
            umask(previous)
            Self.umaskTurn.release()
        } catch {
            umask(previous)
            Self.umaskTurn.release()
            throw error
        }
        if let gid, lchown(path, uid_t.max, gid) != 0 {
            throw Failure(description: "cannot give \(path) the group \(group ?? ""): \(Self.errorText())")
        }
        guard chmod(path, mode_t(mode)) == 0 else {
            throw Failure(description: "cannot set mode of \(path): \(Self.errorText())")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw Failure(description: "the socket \(path) vanished after bind: \(Self.errorText())")
        }
        claim.withLock { $0?.bound = FileIdentity(info) }
        return result
    }

    /// Removes the socket if it is still the one this process bound, and drops the lock. Idempotent.
    func release() {
        guard
            let released = claim.withLock({ claim -> Claim? in
                defer { claim = nil }
                return claim
            })
        else { return }
        var info = stat()
        if let bound = released.bound, lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK,
            FileIdentity(info) == bound
        {
            unlink(path)
        }
        close(released.lockDescriptor)
    }

    private static func removeStaleSocket(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // nothing there
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw Failure(description: "\(path) exists and is not a socket; refusing to replace it")
        }
        if isAnswering(path) {
            throw Failure(
                description:
                    "another process is already listening on \(path) (is another llmgw running?); refusing to start"
            )
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw Failure(description: "cannot remove stale socket \(path): \(errorText())")
        }
    }

    /// A group name from the group database, or a number.
    static func groupID(_ group: String) throws -> gid_t {
        guard let gid = AccountDatabase.groupID(group) else {
            throw Failure(description: "listen.socket_group: no group named \(group)")
        }
        return gid
    }

    /// True when a process accepts connections on the socket at `path`.
    static func isAnswering(_ path: String) -> Bool {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8)
            raw[path.utf8.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }

    private static func makeParentDirectory(of path: String) throws {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let parent = String(path[..<slash])
        var current = parent.hasPrefix("/") ? "" : "."
        for component in parent.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw Failure(description: "cannot create directory \(current): \(errorText())")
            }
        }
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}

private struct FileIdentity: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var changedSeconds: Int
    var changedNanoseconds: Int

    init(_ info: stat) {
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        changedSeconds = Int(info.st_ctim.tv_sec)
        changedNanoseconds = Int(info.st_ctim.tv_nsec)
    }
}

extension UnixSocketFile {
    /// One bind at a time may narrow the process's umask.
    static let umaskTurn = AsyncTurnstile()
}

/// A lock held across suspension points: `acquire` waits its turn, in order of arrival.
final class AsyncTurnstile: Sendable {
    private struct State {
        var held = false
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state in
                if state.held {
                    state.waiting.append(continuation)
                    return false
                }
                state.held = true
                return true
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let next = state.withLock { state in
            if state.waiting.isEmpty {
                state.held = false
                return nil as CheckedContinuation<Void, Never>?
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// Reads a log file line by line and, when following, keeps reading as it grows, like `tail -F`:
/// when the path comes to name a new file (logrotate moved the old one away and created another),
/// the old file is read to its end first — the gateway writes to it until it has reopened — and
/// then the new one from its start; a file truncated in place is read again from its start; a
/// missing file is waited for.
struct LogFileFollower {
    let path: String
    let start: LineCount
    let follow: Bool
    var pollInterval: Duration = .milliseconds(200)
    /// How long a replaced file is still read after the path named a new one.
    var rotationGrace: Duration = .seconds(1)

    struct OpenError: Error, CustomStringConvertible {
        let path: String
        let code: Int32
        var description: String { "cannot open \(path): \(String(cString: strerror(code)))" }
    }

    /// Calls `line` with each whole line (without its newline) until it returns false, or, when
    /// not following, until the end of the file.
    func run(_ line: ([UInt8]) -> Bool) throws {
        var current: OpenFile
        if let opened = OpenFile(path: path) {
            current = opened
            current.seek(to: current.offset(ofLast: start))
        } else if follow {
            let code = errno
            TailOutput.write("llmgw tail: \(OpenError(path: path, code: code)); waiting for it\n", to: 2)
            current = waitForFile()
        } else {
            throw OpenError(path: path, code: errno)
        }
        var pending: [UInt8] = []
        var replacedAt: ContinuousClock.Instant?
        while true {
            let readAny = current.read { chunk in pending.append(contentsOf: chunk) }
            while let newline = pending.firstIndex(of: 0x0A) {
                let whole = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                guard line(whole) else { return }
            }
            if readAny { continue }
            guard follow else {
                if !pending.isEmpty { _ = line(pending) }
                return
            }
            switch current.status(of: path) {
            case .same: replacedAt = nil
            case .truncated:
                current.seek(to: 0)
                pending = []
            case .replaced, .missing:
                let now = ContinuousClock.now
                if let since = replacedAt, now - since >= rotationGrace, let next = OpenFile(path: path) {
                    // The old file is done: its last line, even without a newline, then the new one.
                    if !pending.isEmpty { guard line(pending) else { return } }
                    pending = []
                    current = next
                    replacedAt = nil
                    continue
                }
                if replacedAt == nil { replacedAt = now }
            }
            sleep(for: pollInterval)
        }
    }

    private func waitForFile() -> OpenFile {
        while true {
            if let opened = OpenFile(path: path) { return opened }
            sleep(for: pollInterval)
        }
    }

    private func sleep(for duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        nanosleep(&request, nil)
    }
}

/// An open log file: its descriptor, identity and read position. Closed when replaced.
private final class OpenFile {
    enum Status { case same, truncated, replaced, missing }

    let descriptor: Int32
    let device: UInt
    let inode: UInt
    private var position: off_t = 0

    init?(path: String) {
        let opened = open(path, O_RDONLY | O_CLOEXEC)
        guard opened >= 0 else { return nil }
        var info = stat()
        guard fstat(opened, &info) == 0 else {
            close(opened)
            return nil
        }
        descriptor = opened
        device = UInt(info.st_dev)
        inode = UInt(info.st_ino)
    }

    deinit { close(descriptor) }

    func seek(to offset: off_t) {
        position = lseek(descriptor, offset, SEEK_SET)
    }

    /// Reads what is there now; true when anything was read.
    func read(_ chunk: (UnsafeRawBufferPointer) -> Void) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var any = false
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return any }
            position += off_t(count)
            any = true
            buffer.withUnsafeBytes { chunk(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
    }

    /// What `path` names now, compared with this file.
    func status(of path: String) -> Status {
        var info = stat()
        guard stat(path, &info) == 0 else { return .missing }
        if UInt(info.st_dev) != device || UInt(info.st_ino) != inode { return .replaced }
        var own = stat()
        if fstat(descriptor, &own) == 0, own.st_size < position { return .truncated }
        return .same
    }

    /// Where the last `count` lines begin (a final newline ends the last line, it starts none).
    func offset(ofLast count: LineCount) -> off_t {
        var info = stat()
        guard case .last(let wanted) = count, fstat(descriptor, &info) == 0 else { return 0 }
        let size = info.st_size
        if wanted == 0 { return size }
        var block = [UInt8](repeating: 0, count: 64 * 1024)
        var end = size
        var newlines = 0
        while end > 0 {
            let length = min(off_t(block.count), end)
            let begin = end - length
            let read = block.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, Int(length), begin) }
            guard read == Int(length) else { return 0 }
            for index in stride(from: Int(length) - 1, through: 0, by: -1) where block[index] == 0x0A {
                if begin + off_t(index) == size - 1 { continue }
                newlines += 1
                if newlines == wanted { return begin + off_t(index) + 1 }
            }
            end = begin
        }
        return 0
    }
}

import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes whole lines to a file descriptor (stdout by default), one `write` per line under a lock,
/// so lines from concurrent requests never interleave. Shared by the access log and the
/// operational log.
public final class LineWriter: Sendable {
    private let descriptor: Int32
    private let lock = Mutex<Void>(())

    public init(descriptor: Int32 = 1) {
        self.descriptor = descriptor
    }

    public static let standardOutput = LineWriter(descriptor: 1)

    /// Writes `line` followed by a newline.
    public func write(line: [UInt8]) {
        var bytes = line
        bytes.append(0x0A)
        lock.withLock { _ in
            bytes.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 {
                        if errno == EINTR || errno == EAGAIN { continue }
                        return  // stdout gone: nothing sensible left to do with a log line
                    }
                    offset += written
                }
            }
        }
    }
}

/// Wall-clock timestamps in RFC 3339 with milliseconds, UTC (`2026-11-21T16:00:00.123Z`),
/// formatted without Foundation.
public enum Timestamp {
    public static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = spec.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(spec.tv_nsec / 1_000_000)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }
}

extension Timestamp {
    public static func epochMillis() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int(spec.tv_sec) * 1000 + Int(spec.tv_nsec / 1_000_000)
    }

    public static func epochSeconds() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int(spec.tv_sec)
    }
}

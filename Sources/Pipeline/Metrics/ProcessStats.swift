#if canImport(Glibc)
    import Glibc
#endif

/// The standard `process_*` figures of this process, read from `/proc` on each scrape (Linux; on
/// other systems every figure is absent and nothing is written).
struct ProcessStats {
    var residentBytes: Double?
    var openFileDescriptors: Double?
    var cpuSeconds: Double?
    var startTimeSeconds: Double?

    static func read() -> ProcessStats {
        var stats = ProcessStats()
        #if os(Linux)
            let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
            let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
            // statm: size resident shared text lib data dt, in pages.
            if let statm = file("/proc/self/statm"), let resident = fields(statm).dropFirst().first.flatMap(Double.init)
            {
                stats.residentBytes = resident * pageSize
            }
            stats.openFileDescriptors = countEntries("/proc/self/fd").map(Double.init)
            // stat: the fields after the command name in parentheses (which may hold spaces), from
            // field 3 (state): utime is field 14, stime 15, starttime 22, in clock ticks.
            if let stat = file("/proc/self/stat"), let close = stat.lastIndex(of: UInt8(ascii: ")")), ticks > 0 {
                let rest = fields(Array(stat[stat.index(after: close)...]))
                if rest.count > 19, let user = Double(rest[11]), let system = Double(rest[12]),
                    let start = Double(rest[19])
                {
                    stats.cpuSeconds = (user + system) / ticks
                    if let boot = bootTime() { stats.startTimeSeconds = boot + start / ticks }
                }
            }
        #endif
        return stats
    }

    func write(to text: inout ExpositionText) {
        let figures: [(String, String, String, Double?)] = [
            ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", residentBytes),
            ("process_open_fds", "gauge", "Number of open file descriptors.", openFileDescriptors),
            ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", cpuSeconds),
            (
                "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch in seconds.",
                startTimeSeconds
            ),
        ]
        for (name, type, help, value) in figures {
            guard let value else { continue }
            text.family(name, type: type, help: help)
            text.sample(name, value)
        }
    }

    #if os(Linux)
        /// `btime` of `/proc/stat`: when the system booted, in seconds since the epoch.
        private static func bootTime() -> Double? {
            guard let text = file("/proc/stat") else { return nil }
            for line in text.split(separator: UInt8(ascii: "\n")) where line.starts(with: Array("btime ".utf8)) {
                return fields(Array(line)).dropFirst().first.flatMap(Double.init)
            }
            return nil
        }

        /// A whole `/proc` file (they report a size of 0, so read until the end).
        private static func file(_ path: String) -> [UInt8]? {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return nil }
            defer { _ = Glibc.close(descriptor) }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                bytes.append(contentsOf: chunk[..<count])
            }
            return bytes
        }

        /// Entries of a directory, without `.` and `..`.
        private static func countEntries(_ path: String) -> Int? {
            guard let directory = opendir(path) else { return nil }
            defer { closedir(directory) }
            var count = 0
            while let entry = readdir(directory) {
                let isDot = withUnsafeBytes(of: entry.pointee.d_name) { name in
                    name[0] == UInt8(ascii: ".")
                        && (name[1] == 0 || (name[1] == UInt8(ascii: ".") && name[2] == 0))
                }
                if !isDot { count += 1 }
            }
            // The descriptor `opendir` holds is one of those listed.
            return max(0, count - 1)
        }

        /// Space-separated fields as strings.
        private static func fields(_ bytes: [UInt8]) -> [String] {
            bytes.split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") })
                .map { String(decoding: $0, as: UTF8.self) }
        }
    #endif
}
